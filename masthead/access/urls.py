from django.urls import path

from . import attachments, views

app_name = "access"

urlpatterns = [
    path("search/", views.search, name="search"),
    path(
        "gated-images/<id:article_id>/<id:image_id>/<str:spec>/",
        attachments.gated_image,
        name="gated_image",
    ),
    path("gated-images/files/<path:name>", attachments.image_file, name="image_file"),
]
