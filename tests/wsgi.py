"""A WSGI environ as a server would pass it, for tests that call the WSGI
application (and the page cache in front of Django) directly."""

import io


def wsgi_environ(path, method="GET", cookies=None, **extra):
    """The environ of a request for `path` (its query string after `?`) to
    testserver, with `cookies` and any extra keys (HTTP_ACCEPT_ENCODING=…)."""
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    environ.update(extra)
    return environ
