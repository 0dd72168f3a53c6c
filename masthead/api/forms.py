"""The query parameters the read API and oEmbed take, validated."""

from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError

from masthead.core.converters import MAX_ID


class ArticleListForm(forms.Form):
    section = forms.SlugField(required=False, max_length=255)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class OEmbedForm(forms.Form):
    url = forms.CharField(max_length=2000, strip=True)
    format = forms.CharField(required=False, max_length=20)
    # Hints from the consumer (oEmbed's maxwidth and maxheight), in pixels.
    maxwidth = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    maxheight = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (a port that is not a number raises here)
        except ValueError:
            raise ValidationError("Not a URL.")
        return url
