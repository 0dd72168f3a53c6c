"""Shared pieces of the benchmarks: a throwaway site, servers, wrk.

Everything binds to 127.0.0.1 and every load run is bounded in time.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable


def python_speed():
    """CPU seconds this machine's Python takes for a fixed loop of 10
    million additions, printed beside a run's figures: these machines' speed
    drifts (twofold within an hour has been seen). A rough guide only: the
    loop hardly touches memory, and the app's work does."""
    began = time.process_time()
    total = 0
    for n in range(10_000_000):
        total += n
    return time.process_time() - began


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(var_dir, **extra):
    env = {**os.environ, "MASTHEAD_VAR_DIR": str(var_dir), "DEBUG": "0"}
    env.pop("MASTHEAD_TESTING", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def manage(env, *args, quiet=True):
    """Run a management command; its wall time in seconds, start-up included."""
    began = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )
    return time.perf_counter() - began


def prepare_site(env):
    """Migrate a fresh database and load the demo magazine into it."""
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    manage(env, "load_demo_magazine", "--if-empty")


def wait_for(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def first_pass(base_url, paths, headers=(), connections=8):
    """GET each of `paths` once from `connections` threads, as a site's
    readers would have before a measured run; the answers' cache labels
    (X-Page-Cache or X-Article-Cache, "none" without either) counted."""
    import http.client
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    where = urlsplit(base_url)
    shares = [paths[n::connections] for n in range(connections)]

    def read(share):
        labels = Counter()
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
        for path in share:
            connection.request("GET", path, headers=dict(h.split(": ", 1) for h in headers))
            response = connection.getresponse()
            response.read()
            labels[
                response.getheader("X-Page-Cache")
                or response.getheader("X-Article-Cache")
                or "none"
            ] += 1
        connection.close()
        return labels

    with ThreadPoolExecutor(connections) as pool:
        return sum(pool.map(read, shares), Counter())


class Server:
    """A process started for a benchmark, stopped on exit."""

    def __init__(self, command, env=None, cwd=ROOT):
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def app_server(env, port, workers=2, threads=4):
    """The production server `make run` uses (granian)."""
    from masthead.core.serve import web_command

    return Server(web_command("127.0.0.1", port, workers, threads), env=env)


def gunicorn_server(env, port, workers=2, threads=4):
    """gunicorn with gthread workers, for comparison with granian."""
    return Server(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "masthead.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        env=env,
    )


def nginx_static(html, port):
    """nginx from Debian serving one HTML file, as the reference."""
    folder = Path(tempfile.mkdtemp(prefix="masthead-nginx-"))
    folder.chmod(0o755)  # nginx workers run as an unprivileged user
    (folder / "page.html").write_bytes(html)
    (folder / "nginx.conf").write_text(
        f"""
worker_processes auto;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {folder}/tmp;
  proxy_temp_path {folder}/tmp;
  fastcgi_temp_path {folder}/tmp;
  uwsgi_temp_path {folder}/tmp;
  scgi_temp_path {folder}/tmp;
  types {{ text/html html; }}
  server {{
    listen 127.0.0.1:{port};
    root {folder};
    location / {{ try_files /page.html =404; }}
  }}
}}
"""
    )
    (folder / "tmp").mkdir()
    server = Server(["nginx", "-c", str(folder / "nginx.conf"), "-g", "daemon off;"])
    server.folder = folder
    return server


def cleanup(path):
    shutil.rmtree(path, ignore_errors=True)


def wrk(url, connections=32, seconds=10, threads=2, headers=(), script=None):
    """Run wrk and return requests/s, p50 and p99 latency (ms) and errors;
    `script`, a Lua file, may choose each request's path."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", output).group(1))
    p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", output).group(1))
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors}


def _ms(value):
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def print_table(rows, reference):
    print(f"{'what':66} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs nginx':>9}")
    for name, result in rows:
        ratio = result["rps"] / reference["rps"] if reference["rps"] else 0
        print(
            f"{name:66} {result['rps']:>10.0f} {result['p50_ms']:>8.2f} "
            f"{result['p99_ms']:>8.2f} {result['errors']:>7} {ratio:>8.1%}"
        )
