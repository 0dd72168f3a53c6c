from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/checkout/<id:price_id>/", views.start_checkout, name="start_checkout"),
    path("subscribe/organisations/", views.buy_seats, name="organisations"),
    path("subscribe/success/", views.success, name="success"),
    path("subscribe/cancelled/", views.checkout_cancel, name="checkout_cancel"),
    path("billing/webhook/", views.webhook, name="webhook"),
    path("billing/portal/", views.portal, name="portal"),
    path("billing/cancel/", views.cancel, name="cancel"),
    path("billing/resume/", views.resume, name="resume"),
    path("billing/stay/", views.stay, name="stay"),
    path("billing/refund/", views.refund, name="refund"),
    path("billing/switch/<id:price_id>/", views.switch, name="switch"),
    path("billing/invoices/<id:number>.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("billing/test-checkout/<str:session>/", views.test_checkout, name="test_checkout"),
    path("offer/", views.offer_code, name="offer_code"),
    path("offer/<str:code>/", views.offer, name="offer"),
    path("buy/issue/<id:issue_id>/", views.buy_issue, name="buy_issue"),
    path("buy/issue/done/", views.issue_bought, name="issue_bought"),
    path("billing/refund-issue/<id:purchase_id>/", views.refund_issue, name="refund_issue"),
    path("gift/", views.gift, name="gift"),
    path("gift/thanks/", views.gift_thanks, name="gift_thanks"),
    path("gift/redeem/<str:token>/", views.gift_redeem, name="gift_redeem"),
    path("account/organisation/<id:organisation_id>/", views.organisation, name="organisation"),
    path(
        "account/organisation/<id:organisation_id>/seats/<id:seat_id>/remove/",
        views.remove_seat,
        name="remove_seat",
    ),
    path(
        "account/organisation/<id:organisation_id>/seats/<id:seat_id>/resend/",
        views.resend_invitation,
        name="resend_invitation",
    ),
    path("seat/<str:token>/", views.accept_seat, name="accept_seat"),
]
