from django.urls import path

from . import attachments, views

app_name = "access"

urlpatterns = [
    path("search/", views.search, name="search"),
    path(
        "gated-images/<int:article_id>/<int:image_id>/<str:spec>/",
        attachments.gated_image,
        name="gated_image",
    ),
]
