"""Path converters shared by every app's URLs.

`<id:name>` is a database id: one to eighteen digits, so that every id a URL
can carry fits the database's 64-bit integer. A longer run of digits is no
address at all (404), rather than a number the database driver refuses
(OverflowError on SQLite, an out-of-range error on PostgreSQL). Django's
`<id:...>` accepts any number of digits.
"""

from django.urls import register_converter

# The largest id a URL or a form field may carry.
MAX_ID = 10**18 - 1


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(int(value))


register_converter(IdConverter, "id")
