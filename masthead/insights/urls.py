from django.urls import path

from . import views

app_name = "insights_public"
urlpatterns = [
    path(
        "organisations/<int:organisation_id>/usage.csv",
        views.organisation_usage_csv,
        name="organisation_usage",
    ),
    path("listening/<id:article_id>/<slug:mark>/", views.listening_progress, name="listening"),
]
