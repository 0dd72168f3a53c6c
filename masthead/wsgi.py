import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")

from django.conf import settings

from masthead.core.pagecache import AnonymousPageCache

application = get_wsgi_application()
if settings.PAGE_CACHE_SECONDS:
    application = AnonymousPageCache(application, ttl=settings.PAGE_CACHE_SECONDS)
