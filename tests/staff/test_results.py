"""Store results and the staff leaderboard: what each person enrolled and rang up, in the
manager's stores, for a period, on the page and as CSV; cashiers cannot open it."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from kopilka.core import clock
from kopilka.members.models import Member
from kopilka.pos.models import Store
from tests.conftest import Api, program_set
from tests.staff.test_till import cashier, form_key

pytestmark = pytest.mark.django_db


def sell(client: object, member: Member, total: str) -> None:
    url = f"/till/members/{member.pk}/"
    key = form_key(client.get(url).content.decode())  # type: ignore[attr-defined]
    client.post(url, {"total": total, "redeem": "none", "action": "commit", "key": key})  # type: ignore[attr-defined]


def test_the_leaderboard_counts_what_each_person_did(
    api: Api, settings: object, tmp_path: object
) -> None:
    from tests.conftest import enroll

    program_set(pending_days=0)
    central = Store.objects.get(code="central")
    olga = cashier(central, name="olga")
    boris = cashier(central, name="boris")
    anna = enroll("+79161234567", name="Анна", store_id=central.pk)
    Member.objects.filter(pk=anna.pk).update(
        enrolled_by=User.objects.get(username="olga"),
        created_at=clock.now() - timedelta(days=2),
    )
    guest_like = enroll("+79161234568", store_id=central.pk)
    sell(olga, anna, "500")
    sell(olga, anna, "300")
    sell(boris, guest_like, "200")
    manager = cashier(central, role="store_manager", name="maria")
    page = manager.get("/backoffice/staff/")
    text = page.content.decode()
    assert page.status_code == 200 and "Магазины и сотрудники" in text
    rows = re.findall(r'<th scope="row">(\w+)</th>', text)
    assert rows[0] == "Центральный" and rows[1:3] == ["olga", "boris"]
    exported = manager.get(
        "/backoffice/staff/",
        {
            "since": clock.business_date(clock.now()).replace(day=1).isoformat(),
            "until": clock.business_date(clock.now()).isoformat(),
            "format": "csv",
        },
    )
    table = {r["name"]: r for r in csv.DictReader(io.StringIO(exported.content.decode()))}
    assert table["olga"]["receipts"] == "2" and table["olga"]["with_card"] == "2"
    assert table["olga"]["enrolled"] == "1" and table["olga"]["came_back"] == "1"
    assert table["boris"]["receipts"] == "1" and table["boris"]["enrolled"] == "0"
    assert table["Центральный"]["receipts"] == "3" and table["Центральный"]["card_share"] == "1.0"


def test_cashiers_cannot_and_bad_periods_are_told(api: Api) -> None:
    central = Store.objects.get(code="central")
    assert cashier(central).get("/backoffice/staff/").status_code == 403
    manager = cashier(central, role="store_manager", name="maria")
    backwards = manager.get("/backoffice/staff/", {"since": "2026-05-02", "until": "2026-05-01"})
    assert (
        backwards.status_code == 400
        and "Конец периода раньше его начала." in backwards.content.decode()
    )
    bad = manager.get("/backoffice/staff/", {"since": "x", "until": "2026-05-01"})
    assert bad.status_code == 400
