from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .search import SearchForm, search_articles

SEARCH_PAGE_SIZE = 20


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Published articles matching the query, for this reader: words behind
    the paywall match only for readers who may read them (search.py). A
    result shows its headline and dek only."""
    form = SearchForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "query": "", "results": None}
        return render(request, "access/search.html", context, status=400)
    query = form.cleaned_data["q"]
    results = None
    if query:
        found = search_articles(request.user, query)
        results = Paginator(found, SEARCH_PAGE_SIZE).get_page(form.cleaned_data["page"])
    context = {"form": form, "query": query, "results": results}
    return render(request, "access/search.html", context)
