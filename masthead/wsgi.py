import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")

from django.conf import settings

application = django_application = get_wsgi_application()

# Serving's modules import models: only once Django is set up.
from masthead.serving.pagecache import AnonymousPageCache  # noqa: E402
from masthead.serving.variants import signed_in_pages  # noqa: E402
from masthead.serving.warmup import warm_up  # noqa: E402

if settings.PAGE_CACHE_SECONDS:
    application = AnonymousPageCache(  # type: ignore[assignment]  # both are WSGI callables
        application, ttl=settings.PAGE_CACHE_SECONDS, signed_in_pages=signed_in_pages
    )
warm_up(django_application)

# Django, Wagtail and the models make a quarter of a million objects that live
# as long as the process. Left to the garbage collector, each full collection
# walks them all (over 100 ms here, every request in the process waiting);
# frozen, a full collection sees only what requests made since (under 1 ms).
# Frozen after warming up: the compiled templates are among them.
gc.collect()
gc.freeze()
