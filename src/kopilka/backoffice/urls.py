from django.urls import path

from kopilka.backoffice import campaign_send, program, simulations, views
from kopilka.materials import views as materials
from kopilka.staff.profile import profile
from kopilka.staff.views import audit
from kopilka.staff.views import results as staff_results

app_name = "backoffice"

urlpatterns = [
    path("analytics/", views.overview, name="overview"),
    path("analytics/rfm/", views.rfm, name="rfm"),
    path("analytics/cohorts/", views.cohorts, name="cohorts"),
    path("analytics/lifetime-value/", views.lifetime, name="lifetime"),
    path("analytics/campaigns/", views.campaigns, name="campaigns"),
    path("analytics/refresh/", views.refresh, name="refresh"),
    path("analytics/kpis.json", views.kpis_json, name="kpis_json"),
    path("campaigns/send/", campaign_send.campaign_send, name="campaign-send"),
    path("program/", program.program, name="program"),
    path("program/preview/", program.program_preview, name="program-preview"),
    path("program/simulations/", simulations.simulations, name="simulations"),
    path("staff/", staff_results, name="staff-results"),
    path("audit/", audit, name="audit"),
    path("profile/", profile, name="profile"),
    path("materials/", materials.materials, name="materials"),
    path("materials/<slug:kind>.<str:fmt>", materials.material, name="material"),
    path("program/simulations/<int:simulation_id>/", simulations.simulation, name="simulation"),
    path(
        "analytics/data/<slug:name>.<str:fmt>",
        views.export,
        name="export",
    ),
]
