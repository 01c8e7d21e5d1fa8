"""Program settings in the admin: in percent, there from the first visit, saved through the service."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from kopilka.core.models import AuditEntry
from kopilka.program.engine import Rules
from kopilka.program.models import ProgramSettings
from kopilka.program.selectors import current_rules

pytestmark = pytest.mark.django_db

FORM = {
    "earn_rate_percent": "7.5",
    "max_redeem_share_percent": "50",
    "pending_days": "3",
    "expiry_days": "180",
}


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_superuser("boss", password="a-long-password-1")
    client = Client()
    client.force_login(user)
    return client


def field_value(response: Any, name: str) -> Any:
    return response.context["adminform"].form[name].value()


def test_the_model_defaults_are_the_rules_the_engine_applies_without_a_row() -> None:
    # the settings page shows the model's defaults before anyone saved: they must be what tills get
    defaults = ProgramSettings()
    assert ProgramSettings.objects.count() == 0 and current_rules() == Rules()
    assert (
        defaults.earn_rate_bp,
        defaults.max_redeem_share_bp,
        defaults.pending_days,
        defaults.expiry_days,
    ) == (
        Rules().earn_rate_bp,
        Rules().max_redeem_share_bp,
        Rules().pending_days,
        Rules().expiry_days,
    )


def test_on_a_fresh_database_the_settings_page_shows_the_rules_in_force_in_percent(
    staff_client: Client,
) -> None:
    # given a fresh database: nobody has saved settings yet
    assert not ProgramSettings.objects.exists()
    # when the owner opens the program settings from the admin
    response = staff_client.get("/admin/program/programsettings/", follow=True)
    # then they see the settings the engine applies, in percent, and no list of rows
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Настройки программы</h1>" in html
    assert str(field_value(response, "earn_rate_percent")) == "5"
    assert str(field_value(response, "max_redeem_share_percent")) == "30"
    assert "базисн" not in html and "earn_rate_bp" not in html
    # and the index offers the page itself, not an "add" link for a second row
    index = staff_client.get("/admin/").content.decode()
    assert "/admin/program/programsettings/add/" not in index


def test_saving_in_percent_stores_basis_points_through_the_service(staff_client: Client) -> None:
    response = staff_client.post("/admin/program/programsettings/add/", FORM)
    assert response.status_code == 302
    row = ProgramSettings.objects.get()
    assert (row.earn_rate_bp, row.max_redeem_share_bp, row.pending_days, row.expiry_days) == (
        750,
        5000,
        3,
        180,
    )
    entry = AuditEntry.objects.get(action="program.update")
    assert entry.actor_label == "staff:boss" and entry.data["after"]["earn_rate_bp"] == 750
    # and the list now leads to this one row, shown in percent again
    page = staff_client.get("/admin/program/programsettings/", follow=True)
    assert page.redirect_chain[-1][0] == f"/admin/program/programsettings/{row.pk}/change/"
    assert str(field_value(page, "earn_rate_percent")) == "7.5"
    assert "Настройки программы сохранены." in page.content.decode()
    # a second save changes the same row
    changed = staff_client.post(
        f"/admin/program/programsettings/{row.pk}/change/", {**FORM, "earn_rate_percent": "0.25"}
    )
    assert changed.status_code == 302
    assert list(ProgramSettings.objects.values_list("earn_rate_bp", flat=True)) == [25]
    assert staff_client.get("/admin/program/programsettings/add/").status_code == 403


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("earn_rate_percent", "150"),
        ("earn_rate_percent", "-1"),
        ("earn_rate_percent", "5.555"),
        ("max_redeem_share_percent", "abc"),
        ("expiry_days", "0"),
    ],
)
def test_a_wrong_value_is_a_form_error_and_changes_nothing(
    staff_client: Client, field: str, value: str
) -> None:
    response = staff_client.post("/admin/program/programsettings/add/", {**FORM, field: value})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get(field)
    assert not ProgramSettings.objects.exists() and not AuditEntry.objects.exists()
