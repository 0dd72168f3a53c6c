from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("api/articles/", views.article_list, name="articles"),
    path("api/articles/<id:article_id>/", views.article_detail, name="article"),
    path("oembed/", views.oembed, name="oembed"),
]
