from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from masthead.access import attachments as access_attachments
from masthead.accounts import views as accounts_views
from masthead.core.storage import serve_public_media
from masthead.newsroom import views as newsroom_views
from masthead.serving import routing

# A static page that needs neither the database nor templates.
handler500 = "masthead.core.errors.server_error"

urlpatterns = [
    # Both admins' sign-in forms, behind the readers' password limits.
    path("admin/login/", accounts_views.wagtail_admin_sign_in),
    path("django-admin/login/", accounts_views.django_admin_sign_in),
    # Wagtail's password reset emails a link: the sign-in links' limits.
    path("admin/password_reset/", accounts_views.wagtail_admin_password_reset),
    path("admin/", include(wagtailadmin_urls)),
    path("django-admin/", admin.site.urls),
    # Wagtail's address for a document's file, answered through the access rule.
    path(
        "documents/<id:document_id>/<str:document_filename>",
        access_attachments.serve_document,
        name="masthead_document",
    ),
    path("documents/", include(wagtaildocs_urls)),
    path("", include("masthead.core.urls")),
    path("robots.txt", newsroom_views.robots_txt, name="robots_txt"),
    path("sitemap.xml", newsroom_views.sitemap, name="sitemap"),
    path("news-sitemap.xml", newsroom_views.news_sitemap, name="news_sitemap"),
    path("account/", include("masthead.accounts.urls")),
    path("", include("masthead.billing.urls")),
    path("", include("masthead.access.urls")),
    path("", include("masthead.api.urls")),
    path("audio/", include("masthead.audio.urls")),
    path("editions/", include("masthead.editions.urls")),
    path("print-runs/", include("masthead.printing.urls")),
    path("insights/", include("masthead.insights.urls")),
    path("newsletters/", include("masthead.mailings.urls")),
    path("", include("masthead.newsroom.urls")),
]

if settings.SERVE_MEDIA:
    # Public uploads (images) in the embedded mode; nginx or S3 serve them at scale.
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$",
            serve_public_media,
            name="public_media",
        )
    ]

urlpatterns += [
    # Wagtail's pages, routed through the generation's cached routes; the
    # name is Wagtail's, so shared caches and reverse() treat it as Wagtail's.
    re_path(wagtail_urls.serve_pattern, routing.serve, name="wagtail_serve"),
    path("", include(wagtail_urls)),
]
