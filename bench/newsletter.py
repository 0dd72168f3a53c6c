"""Bench: one personalised, DKIM-signed mailing to N recipients through a
local SMTP sink that only counts, end to end (render, personalise, sign,
hand over, record each delivery), then a worker killed mid-batch and the
batch run again.

    .venv/bin/python bench/newsletter.py [--recipients 100000]

A throwaway SQLite install. The sink is its own process (asyncio, answers
250 and counts messages and Message-IDs); its CPU seconds are printed, so
its cost is known. Prints messages per second, the sender's peak RSS and
RSS after each tenth of the run (flat memory), and, for the kill, how many
messages reached the sink against how many recipients (at most one
duplicate per killed worker, none skipped).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PYTHON, ROOT, bench_env, cleanup, free_port, manage, python_speed

SINK = r"""
import asyncio, json, os, re, signal, sys, time
count = 0
ids = {}
async def handle(reader, writer):
    global count
    writer.write(b"220 sink\r\n")
    in_data = False
    mid = None
    while True:
        line = await reader.readline()
        if not line:
            break
        if in_data:
            if line == b".\r\n":
                in_data = False
                count += 1
                ids[mid] = ids.get(mid, 0) + 1
                writer.write(b"250 OK\r\n")
            elif mid is None and line[:11].lower() == b"message-id:":
                mid = line[11:].strip().decode()
            continue
        verb = line[:4].upper()
        if verb == b"DATA":
            in_data, mid = True, None
            writer.write(b"354 go\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        elif verb == b"EHLO":
            writer.write(b"250-sink\r\n250 8BITMIME\r\n")
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()
def report(*_):
    duplicates = sum(1 for n in ids.values() if n > 1)
    cpu = time.process_time()
    with open(sys.argv[2], "w") as f:
        json.dump({"messages": count, "unique": len(ids), "duplicated": duplicates, "cpu": cpu}, f)
    # Each report starts a new count.
    globals()["count"] = 0
    ids.clear()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, report)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""

SETUP = """
from masthead.accounts.models import User
from masthead.mailings.models import Mailing, Newsletter, NewsletterSubscription
letter = Newsletter.objects.create(name="Bench letter", slug="bench")
users = User.objects.bulk_create(
    User(email=f"reader{{n}}@example.com", full_name=f"Reader {{n}}") for n in range({count})
)
NewsletterSubscription.objects.bulk_create(
    NewsletterSubscription(member=u, newsletter=letter, source="import") for u in users
)
body = [("paragraph", "<p>Hello from the editors. " + "A paragraph of the letter. " * 20 + "</p>")] * 6
for subject in ("Bench mailing", "Kill mailing"):
    Mailing.objects.create(newsletter=letter, subject=subject, body=body)
"""

SEND = """
import json, resource, time
from django.db import connection
from masthead.mailings import actions
from masthead.mailings.delivery import send_batch
from masthead.mailings.models import Delivery, Mailing
mailing = Mailing.objects.get(subject="Bench mailing")
began = time.perf_counter()
actions.start_mailing(mailing)
frozen = time.perf_counter() - began
batches = sorted(set(Delivery.objects.filter(mailing=mailing).values_list("batch", flat=True)))
rss = []
for position, batch in enumerate(batches):
    send_batch(mailing.pk, batch)
    if position % max(1, len(batches) // 10) == 0:
        rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
elapsed = time.perf_counter() - began
sent = Delivery.objects.filter(mailing=mailing, state="sent").count()
print("RESULT", json.dumps({"sent": sent, "seconds": elapsed, "freeze_seconds": frozen,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "rss_mb": rss}))
"""

KILL_START = """
from masthead.mailings import actions
from masthead.mailings.models import Mailing
actions.start_mailing(Mailing.objects.get(subject="Kill mailing"))
"""

KILL_SEND = """
from masthead.mailings.delivery import send_batch
from masthead.mailings.models import Mailing
print(send_batch(Mailing.objects.get(subject="Kill mailing").pk, 0))
"""


def shell(env, code, **kwargs):
    return subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        **kwargs,
    ).stdout


def sink_report(sink, path):
    sink.send_signal(signal.SIGUSR1)
    for _ in range(50):
        time.sleep(0.1)
        if path.exists() and path.stat().st_size:
            data = json.loads(path.read_text())
            path.unlink()
            return data
    raise RuntimeError("the sink did not report")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="masthead-bench-newsletter-"))
    key = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    port = free_port()
    report = folder / "sink.json"
    sink = subprocess.Popen([PYTHON, "-c", SINK, str(port), str(report)])
    env = bench_env(
        folder,
        NEWSLETTER_EMAIL_URL=f"smtp://127.0.0.1:{port}",
        NEWSLETTER_BATCH_SIZE=os.environ.get("NEWSLETTER_BATCH_SIZE", "1000"),
        DKIM_DOMAIN="example.com",
        DKIM_SELECTOR="bench",
        DKIM_PRIVATE_KEY_FILE=str(key),
        TASKS_BACKEND="database",
    )
    try:
        manage(env, "migrate", "--noinput")
        shell(env, SETUP.format(count=args.recipients))
        sink_report(sink, report)
        out = shell(env, SEND)
        result = json.loads(out.split("RESULT ", 1)[1])
        sunk = sink_report(sink, report)
        rate = result["sent"] / result["seconds"]
        print(f"python speed: {python_speed():.2f}s (lower is faster)")
        print(
            f"{result['sent']} sent of {args.recipients} in {result['seconds']:.1f}s "
            f"(freezing recipients {result['freeze_seconds']:.1f}s): {rate:.0f} messages/s"
        )
        print(f"peak RSS {result['peak_rss_mb']} MB; RSS through the run {result['rss_mb']} MB")
        print(
            f"sink: {sunk['messages']} messages, {sunk['unique']} unique Message-IDs, "
            f"{sunk['cpu']:.1f} CPU seconds"
        )

        # Resume after kill: a worker on batch 0 of the second mailing is
        # killed mid-batch, then the batch runs again.
        shell(env, KILL_START)
        worker = subprocess.Popen(
            [PYTHON, "manage.py", "shell", "-c", KILL_SEND],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(float(os.environ.get("KILL_AFTER", "4")))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        partial = sink_report(sink, report)
        shell(env, KILL_SEND)
        final = sink_report(sink, report)
        batch = min(args.recipients, int(env["NEWSLETTER_BATCH_SIZE"]))
        total = partial["messages"] + final["messages"]
        print(
            f"kill: {partial['messages']} messages before the kill, {final['messages']} "
            f"by the rerun: {total} for {batch} recipients "
            f"({total - batch} sent twice, with the same Message-ID)"
        )
    finally:
        sink.terminate()
        sink.wait()
        cleanup(folder)


if __name__ == "__main__":
    sys.exit(main())
