from wagtail.fields import RichTextField
from wagtail.models import Page


class PlainPage(Page):
    body = RichTextField(blank=True)

    template = "plainpage/plain_page.html"
