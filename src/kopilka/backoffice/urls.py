from django.urls import path

from kopilka.backoffice import views

app_name = "backoffice"

urlpatterns = [
    path("analytics/", views.overview, name="overview"),
    path("analytics/rfm/", views.rfm, name="rfm"),
    path("analytics/cohorts/", views.cohorts, name="cohorts"),
    path("analytics/lifetime-value/", views.lifetime, name="lifetime"),
    path("analytics/campaigns/", views.campaigns, name="campaigns"),
    path("analytics/refresh/", views.refresh, name="refresh"),
    path("analytics/kpis.json", views.kpis_json, name="kpis_json"),
    path(
        "analytics/data/<slug:name>.<str:fmt>",
        views.export,
        name="export",
    ),
]
