"""deploy/README.md's upgrade, behind deploy/'s nginx: with readers' requests
arriving all the while, each app server in turn is taken out of nginx's
upstream (`down`, reload), stopped, started again on the new release and put
back. No request is lost: every one is answered by an app server, none by
nginx's 502 or 504, and each server answers again afterwards.

The app servers are the production web server (granian) sharing the test's
database; nginx runs from render_nginx.py's site file, as the deploy tests do.
"""

import http.client
import importlib.util
import subprocess
import threading

import pytest

from tests.scaleout import support

pytestmark = pytest.mark.django_db(transaction=True)


def render_module():
    path = support.REPO / "deploy" / "render_nginx.py"
    spec = importlib.util.spec_from_file_location("render_nginx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Nginx:
    """deploy/nginx/masthead.conf in front of the given app servers, reloaded
    as an operator reloads it after editing the upstream."""

    def __init__(self, folder):
        self.folder = folder
        self.port = support.free_port()
        self.render = render_module()
        (folder / "static").mkdir(parents=True)
        self.process = None

    def configure(self, servers, down=()):
        upstreams = [
            f"127.0.0.1:{server.port}" + (" down" if server in down else "") for server in servers
        ]
        site = self.render.render_site(
            listen=f"127.0.0.1:{self.port}",
            upstreams=upstreams,
            static_root=str(self.folder / "static"),
            media_root=None,
            cache_dir=str(self.folder / "cache"),
            server_name="localhost",
        )
        config = self.folder / "nginx.conf"
        config.write_text(self.render.standalone_config(site, self.folder, workers=1))
        checked = subprocess.run(["nginx", "-t", "-c", str(config)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        if self.process is None:
            self.process = subprocess.Popen(["nginx", "-c", str(config), "-g", "daemon off;"])
        else:
            # A graceful reload: old workers finish the requests they hold.
            subprocess.run(["nginx", "-c", str(config), "-s", "reload"], check=True)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


class Readers:
    """Threads sending requests through nginx until stopped: signed-in GETs
    (never answered from nginx's cache) and form POSTs."""

    def __init__(self, port, threads=3):
        self.port = port
        self.answers = []
        self.lost = []
        self.running = threading.Event()
        self.running.set()
        self.threads = [threading.Thread(target=self.read, args=(n,)) for n in range(threads)]

    def read(self, number):
        count = 0
        while self.running.is_set():
            count += 1
            method = "POST" if count % 3 == 0 else "GET"
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request(
                    method,
                    f"/?reader={number}&n={count}",
                    body="q=upgrade" if method == "POST" else None,
                    headers={
                        "Cookie": f"sessionid=reader{number}",
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
                response = connection.getresponse()
                response.read()
                if response.status in (502, 503, 504):
                    self.lost.append((method, response.status))
                else:
                    self.answers.append((method, response.status))
            except OSError as error:
                self.lost.append((method, repr(error)))
            finally:
                connection.close()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.running.clear()
        for thread in self.threads:
            thread.join(60)

    def wait_for_answers(self, more):
        target = len(self.answers) + more
        support.wait_until(lambda: len(self.answers) >= target, 60, message="readers answered")


def test_restarting_app_servers_one_by_one_loses_no_request(tmp_path):
    database = support.SharedDatabase(tmp_path)
    database.publish()
    env = support.process_env(tmp_path, database)
    nginx = Nginx(tmp_path / "nginx")
    servers = []
    restarted = []
    try:
        for name in ("a", "b"):
            servers.append(support.AppServer(env, tmp_path / f"{name}.log", workers=1, threads=2))
        for server in servers:
            server.wait_ready()
        nginx.configure(servers)
        support.wait_until(lambda: nginx_answers(nginx.port), 20, message="nginx up")
        with Readers(nginx.port) as readers:
            readers.wait_for_answers(20)
            for index, server in enumerate(list(servers)):
                nginx.configure(servers, down=[server])
                readers.wait_for_answers(10)
                server.stop()
                servers[index] = support.AppServer(
                    env, tmp_path / f"{index}-new.log", workers=1, threads=2, port=server.port
                )
                restarted.append(servers[index])
                servers[index].wait_ready()
                nginx.configure(servers)
                readers.wait_for_answers(10)
        assert readers.lost == []
        assert {method for method, _status in readers.answers} == {"GET", "POST"}
        # Each restarted server answers through nginx again: the upstream
        # holds both, and direct requests reach each.
        for server in restarted:
            assert support.Browser(server).get("/health/")[0] == 200
    finally:
        nginx.stop()
        for server in servers + restarted:
            server.stop()


def nginx_answers(port):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/health/")
        return connection.getresponse().status == 200
    except OSError:
        return False
