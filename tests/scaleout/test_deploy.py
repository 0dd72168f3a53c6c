"""deploy/: the nginx site is valid and caches exactly what it should; the
Procfile and systemd units start commands that exist."""

import http.client
import importlib.util
import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import get_commands

from tests.scaleout.support import REPO, free_port, wait_until

DEPLOY = REPO / "deploy"
needs_nginx = pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")


def render_module():
    spec = importlib.util.spec_from_file_location("render_nginx", DEPLOY / "render_nginx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Upstream(BaseHTTPRequestHandler):
    """An app server that counts its requests and answers as the path says."""

    hits = {}

    def do_GET(self):
        Upstream.hits[self.path] = Upstream.hits.get(self.path, 0) + 1
        headers = {
            "/public": [("Cache-Control", "public, max-age=60, s-maxage=300"), ("Vary", "Cookie")],
            "/private": [("Cache-Control", "private, no-cache"), ("Vary", "Cookie")],
            "/sets-cookie": [
                ("Cache-Control", "public, max-age=60"),
                ("Set-Cookie", "csrftoken=abc; Path=/"),
            ],
            "/unmarked": [],
            "/health/": [("Cache-Control", "public, max-age=60")],
        }.get(self.path.split("?")[0], [])
        body = f"{self.path} #{Upstream.hits[self.path]}".encode()
        self.send_response(200)
        for name, value in [("Content-Type", "text/html"), *headers]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def institutions_file(tmp_path):
    """nginx's list of institutions' ranges: empty unless a test writes it."""
    listed = tmp_path / "institutions.conf"
    listed.write_text("")
    return listed


@pytest.fixture
def nginx(tmp_path, institutions_file):
    upstream = ThreadingHTTPServer(("127.0.0.1", free_port()), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    Upstream.hits = {}
    render = render_module()
    port = free_port()
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "site.css").write_text("body{}")
    site = render.render_site(
        listen=f"127.0.0.1:{port}",
        upstreams=[f"127.0.0.1:{upstream.server_address[1]}"],
        static_root=str(tmp_path / "static"),
        media_root=None,
        cache_dir=str(tmp_path / "cache"),
        server_name="localhost",
        institutions_file=str(institutions_file),
    )
    (tmp_path / "nginx.conf").write_text(render.standalone_config(site, tmp_path, workers=1))
    checked = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"])

    def get(path, cookie=None):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        result = response.status, response.getheader("X-Proxy-Cache"), response.read().decode()
        connection.close()
        return result

    def up():
        try:
            return get("/static/site.css")[0] == 200
        except OSError:
            return False

    try:
        wait_until(up, 20, message="nginx up")
        yield get
    finally:
        process.terminate()
        process.wait(10)
        upstream.shutdown()


@needs_nginx
def test_nginx_keeps_only_shareable_anonymous_pages(nginx):
    assert nginx("/public")[1] == "MISS"
    status, cache, body = nginx("/public")
    assert (status, cache, body) == (200, "HIT", "/public #1")

    # A signed-in reader goes to the app and never gets the shared copy.
    status, cache, body = nginx("/public", cookie="csrftoken=x; sessionid=abc")
    assert (cache, body) == ("BYPASS", "/public #2")
    assert nginx("/public", cookie="sessionid=abc")[2] == "/public #3"
    assert nginx("/public")[2] == "/public #1"  # and what it got was not kept

    for path in ("/private", "/sets-cookie", "/unmarked"):
        first, second = nginx(path), nginx(path)
        assert first[2] == f"{path} #1" and second[2] == f"{path} #2", path
        assert second[1] != "HIT"

    assert nginx("/health/")[2] == "/health/ #1"
    assert nginx("/health/")[2] == "/health/ #2"  # never cached
    assert nginx("/static/site.css")[2] == "body{}"


@pytest.fixture
def institution_here(institutions_file):
    # The tests' requests come from 127.0.0.1: an institution's range.
    institutions_file.write_text("127.0.0.0/8 1;\n")


@needs_nginx
@pytest.mark.usefixtures("institution_here")
def test_nginx_passes_institutions_readers_to_the_app(nginx):
    # Each answer comes from the app (its count goes up), none is kept.
    assert nginx("/public") == (200, "BYPASS", "/public #1")
    assert nginx("/public") == (200, "BYPASS", "/public #2")
    assert nginx("/static/site.css")[2] == "body{}"


@needs_nginx
def test_nginx_keeps_pages_seconds_not_minutes(nginx):
    """s-maxage=300 from the app, but a publish must show within seconds."""
    nginx("/public?story")
    assert nginx("/public?story")[1] == "HIT"
    time.sleep(6)
    nginx("/public?story")  # stale: served once more while refreshing in the background
    wait_until(
        lambda: nginx("/public?story")[2] == "/public?story #2",
        10,
        message="refreshed after the shared lifetime",
    )


def test_render_keeps_the_site_file_in_step():
    render = render_module()
    site = render.render_site(
        listen="8080", upstreams=["10.0.0.1:8000", "10.0.0.2:8000"], media_root=None
    )
    assert "server 10.0.0.1:8000" in site and "server 10.0.0.2:8000" in site
    assert "location /media/" not in site
    assert "listen 8080;" in site


def test_procfile_and_units_run_commands_that_exist():
    commands = get_commands()
    procfile = (DEPLOY / "Procfile").read_text()
    kinds = dict(re.findall(r"^(\w+): (.+)$", procfile, re.MULTILINE))
    assert set(kinds) == {"web", "worker", "scheduler"}
    assert kinds["web"].startswith(
        "python manage.py migrate_on_start && exec granian --interface wsgi"
    )
    assert kinds["web"].endswith("masthead.wsgi:application")
    units = {path.name: path.read_text() for path in (DEPLOY / "systemd").glob("*.service")}
    assert set(units) == {
        "masthead-web.service",
        "masthead-worker@.service",
        "masthead-scheduler.service",
        "masthead-institution-ranges.service",
    }
    for text in [*kinds.values(), *units.values()]:
        for command in re.findall(r"manage\.py (\w+)", text):
            assert command in commands, command
    for name, text in units.items():
        assert "EnvironmentFile=/etc/masthead/masthead.env" in text
        if "Type=oneshot" in text:
            # Started again and again by its timer.
            assert (DEPLOY / "systemd" / name.replace(".service", ".timer")).exists()
        else:
            assert "Restart=always" in text
    env_example = (DEPLOY / "masthead.env.example").read_text()
    for name in ("DATABASE_URL", "REDIS_URL", "MEDIA_STORAGE", "AWS_STORAGE_BUCKET_NAME"):
        assert f"\n{name}=" in env_example


def test_every_process_migrates_before_it_starts():
    """An upgrade's code never runs against the schema before it: each unit
    and Procfile line migrates first, and `make run` does before serving."""
    for path in (DEPLOY / "systemd").glob("*.service"):
        lines = path.read_text().splitlines()
        if "Type=oneshot" in lines:
            # A short job every minute (it only reads): the next run after
            # the migration has the new schema.
            continue
        migrate = lines.index(
            "ExecStartPre=/srv/masthead/.venv/bin/python manage.py migrate_on_start"
        )
        start = next(i for i, line in enumerate(lines) if line.startswith("ExecStart="))
        assert migrate < start, path.name
        # Migrations may outlast systemd's default of 90 seconds.
        assert "TimeoutStartSec=30min" in lines, path.name
    procfile = (DEPLOY / "Procfile").read_text()
    kinds = dict(re.findall(r"^(\w+): (.+)$", procfile, re.MULTILINE))
    for kind, command in kinds.items():
        assert command.startswith("python manage.py migrate_on_start && exec "), kind

    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^run: .*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    steps = [line.strip() for line in recipe.splitlines()]
    # Each step may carry the environment that names the port ($(SERVE_ENV)).
    migrate = next(
        i for i, step in enumerate(steps) if step.endswith("$(MANAGE) migrate --noinput")
    )
    serve = next(i for i, step in enumerate(steps) if "masthead.core.serve" in step)
    assert migrate < serve


def test_the_upgrade_guide_names_what_the_nginx_site_does():
    guide = (DEPLOY / "README.md").read_text()
    upgrading = guide[guide.index("## Upgrading") : guide.index("## Caching")]
    site = (DEPLOY / "nginx" / "masthead.conf").read_text()
    for directive in ("proxy_next_upstream error timeout", "proxy_connect_timeout 2s"):
        assert directive in " ".join(upgrading.split()), directive
        assert f"{directive};" in site, directive
    assert "`down`" in upgrading and "nginx -s reload" in upgrading


def test_run_worker_picks_the_configured_backend(settings, monkeypatch):
    from django.core.management import CommandError, call_command

    from masthead.core.management.commands import run_worker

    called = []
    monkeypatch.setattr(run_worker, "call_command", lambda *args: called.append(args))
    settings.TASK_QUEUES = ["default", "audio"]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    call_command("run_worker")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    call_command("run_worker", "--queues", "audio")
    assert called == [
        ("rqworker", "default", "audio", "--with-scheduler"),
        ("db_worker", "--queue-name", "audio"),
    ]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with pytest.raises(CommandError):
        call_command("run_worker")
