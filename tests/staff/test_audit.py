"""The audit page: the services' entries and the admin's changes, with who made them, filtered
by person, object and period; the owner's only."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.services import points_adjust
from kopilka.pos.models import Store
from tests.conftest import Api, enroll
from tests.staff.test_till import cashier

pytestmark = pytest.mark.django_db


def test_the_owner_finds_who_changed_what(api: Api) -> None:
    owner = User.objects.create_superuser("owner", password="x-secret-42", email="")
    anna = enroll("+79161234567", name="Анна")
    points_adjust(member_id=anna.pk, points=50, reason="Извинение", actor=Actor.staff(owner))
    client = Client()
    client.force_login(owner)
    client.post(
        "/admin/auth/user/add/",
        {"username": "kira", "password1": "long-secret-42x", "password2": "long-secret-42x",
         "usable_password": "true"},
    )  # fmt: skip
    page = client.get("/backoffice/audit/").content.decode()
    assert "Журнал изменений" in page and "owner" in page and "member" in page
    mine = client.get("/backoffice/audit/", {"person": "owner", "target": f"member {anna.pk}"})
    assert mine.status_code == 200 and "Извинение" in mine.content.decode()
    today = clock.business_date(clock.now())
    old = client.get(
        "/backoffice/audit/",
        {
            "since": (today - timedelta(days=30)).isoformat(),
            "until": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert "Извинение" not in old.content.decode()
    assert client.get("/backoffice/audit/", {"since": "x"}).status_code == 400


def test_only_the_owner_reads_the_audit_log(api: Api) -> None:
    central = Store.objects.get(code="central")
    assert cashier(central, role="store_manager").get("/backoffice/audit/").status_code == 403
