from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/password/", views.sign_in_password, name="sign_in_password"),
    path("sign-up/", views.sign_up, name="sign_up"),
    path("check-inbox/", views.check_inbox, name="check_inbox"),
    path("link/<str:token>/", views.magic_link, name="magic_link"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("profile/", views.update_profile, name="update_profile"),
    path("email/", views.change_email, name="change_email"),
    path("email/confirm/<str:token>/", views.confirm_email, name="confirm_email"),
    path("address/", views.update_address, name="update_address"),
    path("preferences/", views.update_preferences, name="update_preferences"),
    path("password/", views.set_password, name="set_password"),
    path("delete/", views.delete_account, name="delete_account"),
    path("deleted/", views.account_deleted, name="account_deleted"),
]
