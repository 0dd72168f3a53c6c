from django.urls import path

from . import views

app_name = "editions"

urlpatterns = [
    path("<id:issue_id>/<slug:edition_format>/", views.download, name="download"),
]
