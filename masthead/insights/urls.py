from django.urls import path

from . import views

app_name = "insights_public"
urlpatterns = [
    path("listening/<id:article_id>/<slug:mark>/", views.listening_progress, name="listening"),
]
