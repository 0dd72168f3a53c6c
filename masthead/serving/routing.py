"""Wagtail's routing, looked up once per publish generation.

Wagtail finds the page for a path with a query for the site and one for each
segment of the path plus one for the page's own fields; then every page type
reads the page's parent again. None of it changes until something is
published, unpublished, moved, renamed or deleted, and each of those bumps
the page cache's generation (`pagecache.invalidate_pages`). So this module
keeps, per generation:

- the site for a host and port (`Site.find_for_request`),
- the route for a path: the page's type and id, its parent's, and the view
  restrictions of the page and its ancestors,
- the parent page itself (a section: many articles share one),
- the magazine's settings for the site,

in Django's cache (shared by every process) with a per-process copy in
front. A page then costs one query to load, with what its template reads
first (`serve_select_related` on the page type). Every key carries the
generation: a publish makes every entry stale at once in this process, and in
the others within the generation's per-process lifetime, as it does cached
pages.

It hands Wagtail what it found through Wagtail's own per-request caches
(`request._wagtail_site`, `request._wagtail_route_for_request`, the parent
page Wagtail's routing also caches on the child), then Wagtail's `serve` view
runs as it always does: its hooks, view restrictions and the page's `serve`.
A path this cannot route (aliases in the way, a page type with its own
`route`, nothing found, a page not live) is left to Wagtail's routing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from wagtail import views as wagtail_views
from wagtail.models import Page, PageViewRestriction, Site, get_page_models
from wagtail.url_routing import RouteResult

from masthead.core.models import MagazineSettings

from .pagecache import current_generation
from .perprocess import PerProcessCache, per_process_cache

# Seconds an entry lives in the shared cache. A new generation makes it
# stale long before; this only bounds how long an unused one takes room.
SHARED_SECONDS = 3600
# Entries this process keeps a copy of: routes of the most read pages, and
# the few sites, parents and settings.
PER_PROCESS_ENTRIES = 5000

# A site lookup that found no site, kept as such (None means "not cached").
NO_SITE = "no-site"


# Keys carry the generation, so a copy is never used past the publish that
# made it stale: the copies need no lifetime of their own.
recent: PerProcessCache[object] = per_process_cache(
    PER_PROCESS_ENTRIES, seconds=lambda: float("inf")
)


@dataclass(frozen=True)
class Route:
    """Where a path leads in one generation."""

    page_id: int
    content_type_id: int
    parent_id: int | None
    parent_content_type_id: int | None
    # The view restrictions of the page and its ancestors (ids).
    restriction_ids: tuple[int, ...]


def serve(request: HttpRequest, path: str) -> HttpResponse:
    """Wagtail's `serve` view, with the site and the route found in the
    generation's cache when they are there."""
    find_route(request, path)
    response: HttpResponse = wagtail_views.serve(request, path)
    return response


def find_route(request: HttpRequest, path: str) -> Page | None:
    """The live page at `path` for this request, also handed to Wagtail's
    per-request caches; None leaves routing to Wagtail."""
    generation = current_generation()
    # Django's host rule (ALLOWED_HOSTS), as CommonMiddleware applied it.
    hostname = split_domain_port(request.get_host())[0]
    port = request.get_port()
    place = f"{generation}:{hostname}:{port}"
    site_key, route_key = f"serving:site:{place}", f"serving:route:{place}:{path}"
    found = _get_many([site_key, route_key])
    site = found.get(site_key)
    if site is None:
        site = Site.find_for_request(request) or NO_SITE
        _set(site_key, site)
    if not isinstance(site, Site):
        return None
    request._wagtail_site = site  # type: ignore[attr-defined]
    _remember_settings(request, site, generation)
    if _routed_by_page_types():
        return None
    route = found.get(route_key)
    if not isinstance(route, Route):
        route = _route(site, path, generation)
        if route is None:
            return None
        _set(route_key, route)
    page = _load(route.content_type_id, route.page_id)
    if page is None or not page.live:
        return None
    if route.parent_id is not None and route.parent_content_type_id is not None:
        parent = _parent(route.parent_content_type_id, route.parent_id, generation)
        if parent is not None:
            # As Wagtail's routing does: treebeard's get_parent reads it. A
            # copy: this process's copy serves other requests meanwhile.
            page._cached_parent_obj = copy.copy(parent)
    remember = getattr(page, "remember_view_restrictions", None)
    if remember is not None:
        remember(route.restriction_ids)
    request._wagtail_route_for_request = RouteResult(page)  # type: ignore[attr-defined]
    return page


def forget_routes() -> None:
    """Drop this process's copies (tests, between tests)."""
    recent.clear()


def _route(site: Site, path: str, generation: int) -> Route | None:
    """The route from the database: the page and its ancestors in one query,
    by their URL paths, which Wagtail keeps in step with slugs and moves."""
    root = site.root_page
    components = [component for component in path.split("/") if component]
    url_paths = ["/"]
    url_path = root.url_path
    url_paths.append(url_path)
    for component in components:
        url_path += component + "/"
        url_paths.append(url_path)
    rows = list(
        Page.objects.filter(url_path__in=url_paths)
        .order_by("depth")
        .values_list("pk", "content_type_id", "path", "url_path", "alias_of_id")
    )
    chain = _chain(rows, root.path, url_path)
    if chain is None:
        return None
    if any(alias_of_id is not None for *_rest, alias_of_id in chain):
        return None  # Wagtail resolves aliases' restrictions its own way
    restricted = _restrictions(generation)
    restriction_ids = tuple(sorted(rid for pk, *_rest in chain for rid in restricted.get(pk, ())))
    page_id, content_type_id = chain[-1][0], chain[-1][1]
    parent = chain[-2] if len(chain) > 1 else None
    return Route(
        page_id=page_id,
        content_type_id=content_type_id,
        parent_id=parent[0] if parent else None,
        parent_content_type_id=parent[1] if parent else None,
        restriction_ids=restriction_ids,
    )


def _chain(
    rows: Iterable[tuple[int, int, str, str, int | None]], root_path: str, url_path: str
) -> list[tuple[int, int, str, str, int | None]] | None:
    """The page at `url_path` and its ancestors, root first, when the rows
    hold exactly that line of pages under the site's root (else None)."""
    chain: list[tuple[int, int, str, str, int | None]] = []
    for row in rows:
        path = row[2]
        # Ancestors of the site's root, the root, and pages under it only.
        if not (root_path.startswith(path) or path.startswith(root_path)):
            continue
        if chain and not path.startswith(chain[-1][2]):
            return None
        chain.append(row)
    if not chain or chain[-1][3] != url_path:
        return None
    depths = [len(row[2]) for row in chain]
    steplen = Page.steplen
    if depths != list(range(steplen, steplen * (len(chain) + 1), steplen)):
        return None
    return chain


def _restrictions(generation: int) -> dict[int, tuple[int, ...]]:
    """Every view restriction's id by its page's id, read once per generation
    (a restriction's change bumps it)."""
    key = f"serving:restrictions:{generation}"
    known = _get_many([key]).get(key)
    if isinstance(known, dict):
        return known
    restricted: dict[int, tuple[int, ...]] = {}
    for pk, page_id in PageViewRestriction.objects.values_list("pk", "page_id"):
        restricted[page_id] = (*restricted.get(page_id, ()), pk)
    _set(key, restricted)
    return restricted


def _load(content_type_id: int, page_id: int) -> Page | None:
    model = ContentType.objects.get_for_id(content_type_id).model_class()
    if model is None or not issubclass(model, Page):
        return None
    related = getattr(model, "serve_select_related", ())
    page: Page | None = model._default_manager.select_related(*related).filter(pk=page_id).first()
    return page


def _parent(content_type_id: int, page_id: int, generation: int) -> Page | None:
    key = f"serving:page:{generation}:{page_id}"
    parent = _get_many([key]).get(key)
    if isinstance(parent, Page):
        return parent
    loaded = _load(content_type_id, page_id)
    if loaded is not None:
        _set(key, loaded)
    return loaded


def _remember_settings(request: HttpRequest, site: Site, generation: int) -> None:
    """The magazine's settings for the site, as `MagazineSettings.for_request`
    keeps them on the request (their change bumps the generation)."""
    attribute = MagazineSettings.get_cache_attr_name()
    if hasattr(request, attribute):
        return
    key = f"serving:settings:{generation}:{site.pk}"
    settings = _get_many([key]).get(key)
    if not isinstance(settings, MagazineSettings):
        settings = MagazineSettings.for_site(site)
        _set(key, settings)
    # A copy (this process's serves other requests), told its request as
    # for_request does, for page URLs.
    mine = copy.copy(settings)
    mine._request = request
    setattr(request, attribute, mine)


_page_types_route: list[bool] = []


def _routed_by_page_types() -> bool:
    """Whether a page type routes paths its own way (Wagtail's `route`
    overridden): then its descendants' paths are not what the tree says."""
    if not _page_types_route:
        _page_types_route.append(any(model.route is not Page.route for model in get_page_models()))
    return _page_types_route[0]


def _get_many(keys: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    missing = []
    for key in keys:
        value = recent.get(key)
        if value is None:
            missing.append(key)
        else:
            found[key] = value
    if missing:
        for key, value in cache.get_many(missing).items():
            recent.set(key, value)
            found[key] = value
    return found


def _set(key: str, value: object) -> None:
    cache.set(key, value, SHARED_SECONDS)
    recent.set(key, value)
