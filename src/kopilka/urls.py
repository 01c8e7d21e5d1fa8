from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.generic import TemplateView

from kopilka.api.api import api, redoc_page
from kopilka.messaging.callbacks import sms_callback, sms_incoming
from kopilka.messaging.views import unsubscribe
from kopilka.portal.views import language_switch


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", language_switch, name="set_language"),  # every page's switch
    path("api/v1/redoc", redoc_page, name="api-redoc"),
    path("api/v1/", api.urls),
    path("backoffice/", include("kopilka.backoffice.urls")),
    path("till/", include("kopilka.staff.urls")),
    path("unsubscribe/<str:token>", unsubscribe, name="unsubscribe"),
    path("u/<str:token>", unsubscribe, name="unsubscribe-short"),
    path("messaging/callbacks/<str:provider>/<str:secret>", sms_callback, name="sms-callback"),
    path("messaging/incoming/<str:provider>/<str:secret>", sms_incoming, name="sms-incoming"),
    path("admin/", admin.site.urls),
    path("", include("kopilka.portal.urls")),
]
