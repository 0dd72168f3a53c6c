import os
import secrets
import subprocess
import sys

from django.conf import settings


def run_manage(*args, **env):
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MASTHEAD_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        HTTPS="1",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="magazine.example.org",
        MASTHEAD_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_without_https_settings(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        HTTPS="0",
        MASTHEAD_VAR_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr


def test_embedded_mode_needs_no_configuration(tmp_path):
    """No environment at all: SQLite and a secret key under the var folder."""
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.TASKS['default']['BACKEND'], "
        "s.CACHES['default']['BACKEND'], bool(s.SECRET_KEY))",
        MASTHEAD_VAR_DIR=str(tmp_path),
        DATABASE_URL="",
        REDIS_URL="",
    )
    assert result.returncode == 0, result.stderr
    engine, tasks, cache, has_key = result.stdout.strip().splitlines()[-1].split()
    assert engine == "django.db.backends.sqlite3"
    assert tasks == "django_tasks_db.DatabaseBackend"
    assert cache == "masthead.core.filecache.FileCache"
    assert has_key == "True"
    assert (tmp_path / "secret_key").exists()


def site_url(tmp_path, **env):
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SITE_URL)",
        MASTHEAD_VAR_DIR=str(tmp_path),
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_site_url_follows_the_port_it_is_served_on(tmp_path):
    assert site_url(tmp_path, PORT="8123", HOST="0.0.0.0", SITE_URL="") == "http://127.0.0.1:8123"
    assert site_url(tmp_path, PORT="8123", HOST="192.168.1.20", SITE_URL="") == (
        "http://192.168.1.20:8123"
    )
    # A public address set by the operator wins.
    assert (
        site_url(tmp_path, PORT="8123", SITE_URL="https://magazine.example.org/")
        == "https://magazine.example.org"
    )


def test_the_theme_folder_comes_first_for_templates_and_static_files(tmp_path):
    theme = tmp_path / "theme"
    (theme / "templates" / "core" / "includes").mkdir(parents=True)
    (theme / "templates" / "core" / "includes" / "footer.html").write_text("<footer></footer>")
    (theme / "static" / "css").mkdir(parents=True)
    (theme / "static" / "css" / "masthead.css").write_text("body { color: teal; }")
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.template.loader import get_template; "
        "from django.contrib.staticfiles import finders; "
        "print(get_template('core/includes/footer.html').origin.name); "
        "print(finders.find('css/masthead.css'))",
        MASTHEAD_VAR_DIR=str(tmp_path),
        THEME_DIR=str(theme),
    )
    assert result.returncode == 0, result.stderr
    template, stylesheet = result.stdout.split()
    assert template == str(theme / "templates" / "core" / "includes" / "footer.html")
    assert stylesheet == str(theme / "static" / "css" / "masthead.css")
