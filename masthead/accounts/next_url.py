"""Where to send a reader after signing in, subscribing or paying: only a
path on this site, so a link cannot send them on to another one."""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(value: str | None) -> str:
    """`value` when it is a path on this site, else ""."""
    if value and value.startswith("/") and url_has_allowed_host_and_scheme(value, None):
        return value
    return ""
