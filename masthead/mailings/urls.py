from django.urls import path

from . import views

app_name = "mailings"

urlpatterns = [
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-up/check-inbox/", views.check_inbox, name="check_inbox"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("preferences/", views.preferences, name="preferences"),
    path("m/<id:mailing_id>/", views.view_in_browser, name="view"),
    path("o/<str:token>.gif", views.opened, name="opened"),
    path("webhooks/postmark/tracking/", views.postmark_tracking, name="postmark_tracking"),
]
