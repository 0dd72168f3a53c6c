from django.urls import path

from . import views

app_name = "printing"

urlpatterns = [
    path("hold/", views.vacation_hold, name="hold"),
]
