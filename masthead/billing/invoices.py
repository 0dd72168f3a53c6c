"""Invoices as PDF files, laid out by WeasyPrint from templates/billing/invoice.html.

An invoice never changes once issued, so its PDF is rendered on the first
request and kept in the private storage; later downloads read that file.
Nothing is fetched while rendering: the layout is self-contained.
"""

import logging
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.template.loader import render_to_string

from .models import Invoice

# A reference that changes with the layout, so an old rendering is never
# served after the template changes.
LAYOUT_VERSION = 1


def invoice_html(invoice: Invoice) -> str:
    return render_to_string("billing/invoice.html", {"invoice": invoice})


def render_invoice_pdf(invoice: Invoice) -> bytes:
    # WeasyPrint loads only in the process that renders, and reports every
    # layout step at INFO.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    pdf: bytes = HTML(
        string=invoice_html(invoice),
        url_fetcher=URLFetcher(allowed_protocols=("data",)),
    ).write_pdf()
    return pdf


def _path(invoice: Invoice) -> str:
    return f"billing/invoices/{invoice.reference}-v{LAYOUT_VERSION}.pdf"


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice's PDF: the kept file, else rendered now and kept."""
    storage: Any = storages["private"]
    path = _path(invoice)
    if storage.exists(path):
        with storage.open(path, "rb") as kept:
            data: bytes = kept.read()
            return data
    data = render_invoice_pdf(invoice)
    storage.save(path, ContentFile(data))
    return data
