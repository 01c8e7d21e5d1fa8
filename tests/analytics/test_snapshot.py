"""From the database to a snapshot: frames read what the API wrote; the worker fills snapshots."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command

from kopilka.analytics import kpi
from kopilka.analytics.frames import frames_load
from kopilka.analytics.models import Snapshot
from kopilka.analytics.selectors import snapshot_pending
from kopilka.analytics.services import (
    snapshot_dir,
    snapshot_request,
    snapshot_run,
)
from kopilka.campaigns.control import in_control_group
from kopilka.campaigns.models import CampaignMember
from kopilka.campaigns.services import CampaignInvalid, campaign_create
from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.services import points_expire_due
from tests.conftest import Api, enroll, receipt
from tests.pos.test_returns import buy, give_back

pytestmark = pytest.mark.django_db

# 23:30 in Moscow on 31 January is already 1 February there: days are business days.
LATE_EVENING = datetime(2026, 1, 31, 21, 30, tzinfo=UTC)


@pytest.fixture
def history(api: Api, settings: object) -> dict[str, int]:
    with clock.frozen_at(LATE_EVENING - timedelta(days=400)):
        anna = enroll()
        first = buy(api, anna.pk, ("COF1", "2", "250.00"), ("CAKE", "1", "500.00"), number="1")
    with clock.frozen_at(LATE_EVENING - timedelta(days=100)):
        buy(api, anna.pk, ("CAKE", "1", "500.00"), number="0")
    with clock.frozen_at(LATE_EVENING):
        second = buy(api, anna.pk, ("COF1", "1", "250.00"), number="2", redeem=20)
        response = api.post(
            "/purchases", receipt(("TEA", "1", "120.00"), receipt_number="3"), idempotency_key="g"
        )
        assert response.status_code == 201
        assert give_back(api, first["id"], ("COF1", "1"), key="r1").status_code == 201
        expired = points_expire_due(actor=Actor.system("test"))
    return {"member": anna.pk, "first": first["id"], "second": second["id"], **expired}


def test_frames_hold_what_the_api_wrote_in_business_days(history: dict[str, int]) -> None:
    frames = frames_load(as_of=LATE_EVENING + timedelta(hours=1))

    purchases = frames.purchases.sort("purchase_id")
    assert purchases["amount"].to_list() == [100000, 50000, 25000, 12000]
    assert purchases["net"].to_list() == [75000, 50000, 25000, 12000]  # one coffee came back
    assert purchases["member_id"].to_list() == [history["member"]] * 3 + [None]
    assert purchases["redeem_points"].to_list() == [0, 0, 20, 0]
    assert purchases["day"].to_list()[2:] == [date(2026, 2, 1), date(2026, 2, 1)]
    assert frames.returns["day"].to_list() == [date(2026, 2, 1)]
    assert frames.members["member_id"].to_list() == [history["member"]]
    expired = frames.adjustments.filter(pl.col("kind") == "expire")["points"].sum()
    assert expired == -history["points"] and expired < 0

    # Nothing after `as_of` is read.
    earlier = frames_load(as_of=LATE_EVENING - timedelta(days=1))
    assert earlier.purchases.height == 2 and earlier.returns.is_empty()


def test_the_liability_equals_the_members_balances(history: dict[str, int]) -> None:
    from kopilka.members.models import Member

    frames = frames_load(as_of=LATE_EVENING + timedelta(hours=1))
    held = kpi.points_held(frames, until=date(2026, 2, 2))
    assert held == sum(Member.objects.values_list("points_balance", flat=True))


@pytest.mark.django_db(transaction=True)  # the worker closes its connection when it is done
def test_a_refresh_runs_in_the_worker_and_writes_every_table(
    history: dict[str, int], django_capture_on_commit_callbacks: object
) -> None:
    with clock.frozen_at(LATE_EVENING + timedelta(days=2)):
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            requested = snapshot_request(actor=Actor.system("test"))
            # Asking again while one is on its way does not queue a second run.
            assert snapshot_request(actor=Actor.system("test")).pk == requested.pk
        assert Snapshot.objects.get().status == Snapshot.Status.QUEUED

        call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)

    snapshot = Snapshot.objects.get()
    assert snapshot.status == Snapshot.Status.READY, snapshot.error
    folder = snapshot_dir(snapshot.pk)
    for table in ("purchases", "customers", "cohorts", "rfm_segments", "kpi_monthly", "stores"):
        assert (folder / f"{table}.parquet").exists()
    assert snapshot.summary["kpis"]["receipts"] == 2  # the last 30 whole days
    assert snapshot.summary["rows"] == {"purchases": 4, "members": 1}
    assert pl.read_parquet(folder / "customers.parquet")["member_id"].to_list() == [
        history["member"]
    ]


def test_a_request_whose_worker_died_is_replaced(history: dict[str, int]) -> None:
    with clock.frozen_at(LATE_EVENING):
        lost = snapshot_request(actor=Actor.system("test"))
    with clock.frozen_at(LATE_EVENING + timedelta(hours=1)):
        assert snapshot_pending() == lost  # still on its way an hour later
        assert snapshot_request(actor=Actor.system("test")).pk == lost.pk
    with clock.frozen_at(LATE_EVENING + timedelta(hours=3)):
        assert snapshot_pending() is None  # presumed lost: pages stop saying "being computed"
        fresh = snapshot_request(actor=Actor.system("test"))
        assert fresh.pk != lost.pk and snapshot_pending() == fresh


def test_a_failed_run_keeps_its_error_and_the_last_good_snapshot(
    history: dict[str, int], settings: object, tmp_path: Path
) -> None:
    good = snapshot_run(actor=Actor.system("test"))
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    settings.KOPILKA_ANALYTICS_DIR = blocked  # type: ignore[attr-defined]
    bad = snapshot_run(actor=Actor.system("test"))
    assert good.status == Snapshot.Status.READY
    assert bad.status == Snapshot.Status.FAILED and "NotADirectoryError" in bad.error


def test_a_campaign_holds_out_its_control_group(history: dict[str, int]) -> None:
    members = [history["member"]] + [enroll(phone=f"+7916000{i:04d}").pk for i in range(200)]
    campaign = campaign_create(
        key="spring-2026",
        name="Весна",
        control_share=Decimal("0.2"),
        starts_on=date(2026, 3, 1),
        ends_on=date(2026, 4, 1),
        member_ids=members,
        actor=Actor.system("test"),
    )
    rows = CampaignMember.objects.filter(campaign=campaign)
    assert rows.count() == 201
    for row in rows:
        assert row.in_control == in_control_group(
            campaign_key="spring-2026", member_id=row.member_id, control_share=0.2
        )
    assert 20 <= rows.filter(in_control=True).count() <= 60

    with pytest.raises(CampaignInvalid, match="key exists"):
        campaign_create(
            key="spring-2026",
            name="Again",
            control_share=Decimal("0.2"),
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 4, 1),
            member_ids=members,
            actor=Actor.system("test"),
        )
    with pytest.raises(CampaignInvalid):
        campaign_create(
            key="bad",
            name="Bad",
            control_share=Decimal("1.5"),
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 4, 1),
            member_ids=members,
            actor=Actor.system("test"),
        )
