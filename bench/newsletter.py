"""Bench: one personalised, DKIM-signed mailing to N recipients through a
local SMTP sink that only counts, end to end (render, personalise, sign,
hand over, record each delivery), then a worker killed mid-batch and the
batch run again.

    .venv/bin/python bench/newsletter.py [--recipients 100000] [--workers N] [--no-dkim]

A throwaway SQLite install. The batches are shared among --workers sending
processes (default: one per core), as task-queue workers would take them.
The sink is its own process (asyncio, offers PIPELINING as Postfix does,
answers 250 and counts messages and Message-IDs); its CPU seconds are
printed, so its cost is known. Prints messages per second (wall) and per
CPU second of the workers (the figure that holds on a shared machine), each
worker's peak RSS and RSS after each tenth of its run (flat memory), and,
for the kill, how many messages reached the sink against how many
recipients (at most one duplicate per killed worker, none skipped). The
kill lands while the sink holds its reply to the batch's middle message, so
it always falls inside the window `mailings.delivery` documents.
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
hold_at = int(sys.argv[3])
armed = False
release = None
async def hold():
    # The message is counted, its reply held until the bench has killed the
    # worker that sent it: the kill lands after the sink took the message.
    global armed, release
    armed = False
    release = asyncio.Event()
    open(sys.argv[4], "w").close()
    await release.wait()
    release = None
def signal_hold(*_):
    global armed
    if release is not None:
        release.set()
    else:
        armed = True
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
                if armed and count == hold_at:
                    await hold()
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
            writer.write(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        else:
            writer.write(b"250 OK\r\n")
        try:
            await writer.drain()
        except ConnectionError:
            break
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
    loop.add_signal_handler(signal.SIGUSR2, signal_hold)
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

START = """
import json, time
from masthead.mailings import actions
from masthead.mailings.models import Mailing
began = time.perf_counter()
actions.start_mailing(Mailing.objects.get(subject="Bench mailing"))
print("RESULT", json.dumps({"freeze_seconds": time.perf_counter() - began}))
"""

# One worker's share of the batches: every Nth, as workers would take them
# from the task queue.
SEND = """
import json, os, resource, time
from masthead.mailings.delivery import send_batch
from masthead.mailings.models import Delivery, Mailing
mailing = Mailing.objects.get(subject="Bench mailing")
worker, workers = int(os.environ["BENCH_WORKER"]), int(os.environ["BENCH_WORKERS"])
batches = sorted(set(Delivery.objects.filter(mailing=mailing).values_list("batch", flat=True)))
mine = batches[worker::workers]
rss = []
began, cpu = time.time(), time.process_time()
for position, batch in enumerate(mine):
    send_batch(mailing.pk, batch)
    if position % max(1, len(mine) // 10) == 0:
        rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
print("RESULT", json.dumps({"began": began, "ended": time.time(),
    "cpu": time.process_time() - cpu,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "rss_mb": rss}))
"""

COUNT = """
from masthead.mailings.models import Delivery
print("RESULT", Delivery.objects.filter(mailing__subject="Bench mailing", state="sent").count())
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


def send(env, workers):
    """The mailing's batches shared among `workers` processes started
    together; each one's result."""
    processes = [
        subprocess.Popen(
            [PYTHON, "manage.py", "shell", "-c", SEND],
            cwd=ROOT,
            env={**env, "BENCH_WORKER": str(n), "BENCH_WORKERS": str(workers)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]
    results = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode:
            raise RuntimeError(f"a sending worker failed ({process.returncode})")
        results.append(json.loads(out.split("RESULT ", 1)[1]))
    return results


def kill_mid_batch(env, sink, report, held):
    """A worker on batch 0 of the second mailing is killed while the sink
    holds the reply to message HOLD_AT (so the sink has taken it), then the
    batch runs again. The sink's counts before and after the rerun."""
    shell(env, KILL_START)
    sink.send_signal(signal.SIGUSR2)  # arm the hold
    worker = subprocess.Popen(
        [PYTHON, "manage.py", "shell", "-c", KILL_SEND],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(1200):
            if held.exists() or worker.poll() is not None:
                break
            time.sleep(0.1)
        if not held.exists():
            raise RuntimeError("the worker never reached the held message")
    finally:
        worker.kill()
        worker.wait()
    sink.send_signal(signal.SIGUSR2)  # release the held reply, to no one
    partial = sink_report(sink, report)
    shell(env, KILL_SEND)
    return partial, sink_report(sink, report)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10000)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count(), help="sending processes (default: cores)"
    )
    parser.add_argument("--no-dkim", action="store_true", help="send unsigned")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="masthead-bench-newsletter-"))
    key = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    port = free_port()
    report = folder / "sink.json"
    held = folder / "held"
    batch_size = int(os.environ.get("NEWSLETTER_BATCH_SIZE", "1000"))
    hold_at = min(args.recipients, batch_size) // 2 or 1
    sink = subprocess.Popen([PYTHON, "-c", SINK, str(port), str(report), str(hold_at), str(held)])
    dkim = (
        {}
        if args.no_dkim
        else {
            "DKIM_DOMAIN": "example.com",
            "DKIM_SELECTOR": "bench",
            "DKIM_PRIVATE_KEY_FILE": str(key),
        }
    )
    env = bench_env(
        folder,
        NEWSLETTER_EMAIL_URL=f"smtp://127.0.0.1:{port}",
        NEWSLETTER_BATCH_SIZE=batch_size,
        TASKS_BACKEND="database",
        **dkim,
    )
    try:
        manage(env, "migrate", "--noinput")
        shell(env, SETUP.format(count=args.recipients))
        sink_report(sink, report)
        frozen = json.loads(shell(env, START).split("RESULT ", 1)[1])["freeze_seconds"]
        results = send(env, args.workers)
        sunk = sink_report(sink, report)
        sent = int(shell(env, COUNT).split("RESULT ", 1)[1])
        seconds = max(r["ended"] for r in results) - min(r["began"] for r in results)
        cpu = sum(r["cpu"] for r in results)
        print(f"python speed: {python_speed():.2f}s (lower is faster)")
        print(
            f"{sent} sent of {args.recipients} by {args.workers} workers, DKIM "
            f"{'off' if args.no_dkim else 'on'}, in {seconds:.1f}s (freezing recipients "
            f"{frozen:.1f}s): {sent / seconds:.0f} messages/s; {cpu:.1f} CPU seconds in "
            f"the workers: {sent / cpu:.0f} messages per CPU second"
        )
        for n, result in enumerate(results):
            print(
                f"worker {n}: peak RSS {result['peak_rss_mb']} MB; "
                f"RSS through the run {result['rss_mb']} MB"
            )
        print(
            f"sink: {sunk['messages']} messages, {sunk['unique']} unique Message-IDs, "
            f"{sunk['cpu']:.1f} CPU seconds"
        )
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        partial, final = kill_mid_batch(env, sink, report, held)
        batch = min(args.recipients, batch_size)
        total = partial["messages"] + final["messages"]
        print(
            f"kill: {partial['messages']} messages before the kill (the last one held), "
            f"{final['messages']} by the rerun: {total} for {batch} recipients "
            f"({total - batch} sent twice, with the same Message-ID)"
        )
    finally:
        sink.terminate()
        sink.wait()
        cleanup(folder)


if __name__ == "__main__":
    sys.exit(main())
