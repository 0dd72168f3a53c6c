"""Fill in deploy/nginx/masthead.conf for one installation, or run it as a
throwaway nginx in a folder (the benchmarks and tests do).

    python deploy/render_nginx.py --server-name magazine.example.org \\
        --upstream 10.0.0.11:8000 --upstream 10.0.0.12:8000 \\
        --static-root /srv/masthead/var/static --no-local-media \\
        > /etc/nginx/sites-available/masthead
"""

import argparse
import os
import re
import sys
from pathlib import Path

SITE = Path(__file__).resolve().parent / "nginx" / "masthead.conf"
# The institutions' ranges, written by `manage.py institution_ranges`.
INSTITUTIONS_FILE = "/etc/nginx/masthead-institutions.conf"

LISTEN = "    listen 80;\n    listen [::]:80;\n"
UPSTREAM = "    server 127.0.0.1:8000 max_fails=3 fail_timeout=10s;\n"
MEDIA_BLOCK = re.compile(r"\n    # Local media only.*?\n    }\n", re.DOTALL)


def _replace(text, old, new):
    if old not in text:
        raise ValueError(f"{SITE.name} no longer contains {old!r}: update render_nginx.py")
    return text.replace(old, new)


def render_site(
    *,
    listen="80",
    upstreams=("127.0.0.1:8000",),
    static_root="/srv/masthead/var/static",
    media_root="/srv/masthead/var/media",
    cache_dir="/var/cache/nginx/masthead",
    server_name="magazine.example.org",
    shared_seconds=None,
    institutions_file=INSTITUTIONS_FILE,
):
    """The site file with these values; media_root=None drops /media/ (S3)."""
    text = SITE.read_text()
    text = _replace(text, f"include {INSTITUTIONS_FILE};", f"include {institutions_file};")
    text = _replace(text, LISTEN, f"    listen {listen};\n")
    text = _replace(
        text,
        UPSTREAM,
        "".join(f"    server {server} max_fails=3 fail_timeout=10s;\n" for server in upstreams),
    )
    text = _replace(text, "alias /srv/masthead/var/static/;", f"alias {static_root.rstrip('/')}/;")
    if media_root:
        text = _replace(
            text, "alias /srv/masthead/var/media/;", f"alias {media_root.rstrip('/')}/;"
        )
    else:
        text, count = MEDIA_BLOCK.subn("\n", text)
        if count != 1:
            raise ValueError("could not find the /media/ block")
    text = _replace(text, "/var/cache/nginx/masthead ", f"{cache_dir} ")
    text = _replace(text, "server_name magazine.example.org;", f"server_name {server_name};")
    if shared_seconds is not None:
        text = _replace(
            text, "proxy_cache_valid 200 5s;", f"proxy_cache_valid 200 {shared_seconds}s;"
        )
    return text


def standalone_config(site, folder, *, workers="auto"):
    """A whole nginx.conf that runs `site` as an unprivileged process with
    everything (pid, logs, temporary files) in `folder`."""
    folder = Path(folder)
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    # A throwaway nginx: no institutions, unless the site names its own list.
    default_list = f"include {INSTITUTIONS_FILE};"
    if default_list in site:
        empty = folder / "masthead-institutions.conf"
        empty.write_text("")
        site = site.replace(default_list, f"include {empty};")
    (folder / "site.conf").write_text(site)
    # Started as root, nginx would run its workers as "nobody", who cannot
    # reach a private temporary folder.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
worker_processes {workers};
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {folder}/tmp/body;
  proxy_temp_path {folder}/tmp/proxy;
  fastcgi_temp_path {folder}/tmp/fastcgi;
  uwsgi_temp_path {folder}/tmp/uwsgi;
  scgi_temp_path {folder}/tmp/scgi;
  include {folder}/site.conf;
}}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-name", default="magazine.example.org")
    parser.add_argument("--listen", default="80")
    parser.add_argument("--upstream", action="append", help="host:port of an app server")
    parser.add_argument("--static-root", default="/srv/masthead/var/static")
    parser.add_argument("--media-root", default="/srv/masthead/var/media")
    parser.add_argument("--no-local-media", action="store_true", help="media is on S3")
    parser.add_argument("--cache-dir", default="/var/cache/nginx/masthead")
    parser.add_argument(
        "--institutions-file",
        default=INSTITUTIONS_FILE,
        help="the list `manage.py institution_ranges --output` writes",
    )
    args = parser.parse_args()
    sys.stdout.write(
        render_site(
            listen=args.listen,
            upstreams=args.upstream or ["127.0.0.1:8000"],
            static_root=args.static_root,
            media_root=None if args.no_local_media else args.media_root,
            cache_dir=args.cache_dir,
            server_name=args.server_name,
            institutions_file=args.institutions_file,
        )
    )


if __name__ == "__main__":
    main()
