from django.urls import path

from kopilka.portal import views

app_name = "portal"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/code/", views.code, name="code"),
    path("login/password/", views.login_password, name="login-password"),
    path("logout/", views.logout, name="logout"),
    path("join/", views.join, name="join"),
    path("join/code/", views.join_code, name="join-code"),  # before the store's join page
    path("join/<slug:store>/", views.join, name="join-store"),
    path("consent/<slug:document>/", views.consent_document, name="consent"),
    path("me/", views.home, name="home"),
    path("me/sw.js", views.worker, name="worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("me/history/", views.history, name="history"),
    path("me/purchases/<int:purchase_id>/", views.purchase, name="purchase"),
    path("me/program/", views.program, name="program"),
    path("me/rewards/", views.rewards, name="rewards"),
    path("me/vouchers/<str:code>/", views.voucher, name="voucher"),
    path("me/vouchers/<str:code>/qr.svg", views.voucher_qr, name="voucher-qr"),
    path("me/card/", views.card, name="card"),
    path("me/card/qr.svg", views.card_qr, name="card-qr"),
    path("me/card/barcode.svg", views.card_barcode, name="card-barcode"),
    path("me/card/kopilka.pkpass", views.card_wallet, name="card-wallet"),
    path("me/profile/", views.profile, name="profile"),
    path("me/password/", views.password, name="password"),
    path("me/telegram/qr.svg", views.telegram_qr, name="telegram-qr"),
    path("me/email/<str:token>/", views.email_confirm, name="email-confirm"),
    path("me/privacy/", views.privacy, name="privacy"),
    path("me/export.<str:fmt>", views.export, name="export"),
    path("me/delete/", views.delete, name="delete"),
]
