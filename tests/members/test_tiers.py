"""Tiers through the API and the daily review: a purchase raises the tier at once (its terms from
the next purchase), a return alone never lowers it, the review lowers it only after the grace
period, a tier set by staff holds through its end date, and every change says why.

Runs on SQLite and on PostgreSQL (both commit paths: a purchase that raises a tier takes the
locked path, the others the one-statement commit)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.members.models import Member, TierChange
from kopilka.members.tiers import TierUntilPast, UnknownTier, tier_review, tier_set_manual
from kopilka.program.engine import Reason
from tests.conftest import Api, assert_ledger_clean, enroll, program_set

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 12:00 in Moscow
TIERS = [
    {
        "code": "silver",
        "name": "Серебро",
        "qualify_spend": "1000.00",
        "earn_multiplier": "2",
        "redeem_max_percent": "50",
        "privileges": ["Кофе без очереди"],
    },
    {
        "code": "gold",
        "name": "Золото",
        "qualify_spend": "3000.00",
        "earn_multiplier": "3",
        "discount_percent": "10",
        "privileges": ["Кофе без очереди", "Десерт в день рождения"],
    },
]


def coffee(price: str, member_id: int, number: str) -> dict[str, Any]:
    line = {"sku": "CAP", "name": "Капучино", "category": "coffee", "quantity": "1", "price": price}
    return {"store": "central", "lines": [line], "member_id": member_id, "receipt_number": number}


def buy(api: Api, price: str, member: Member, number: str) -> dict[str, Any]:
    answer = api.post("/purchases", coffee(price, member.pk, number), idempotency_key=number)
    assert answer.status_code == 201, answer.content
    body: dict[str, Any] = answer.json()
    return body


def tier_of(api: Api, member: Member) -> dict[str, Any]:
    answer = api.get(f"/members/{member.pk}")
    assert answer.status_code == 200
    tier: dict[str, Any] = answer.json()["tier"]
    return tier


@pytest.fixture
def tiered() -> Any:
    with clock.frozen_at(START):
        program_set(tiers=TIERS, tier_window_days=365, tier_grace_days=30)
        yield


@pytest.mark.usefixtures("tiered")
def test_the_purchase_that_reaches_a_tier_raises_it_and_its_terms_apply_from_the_next(
    api: Api,
) -> None:
    member = enroll()
    # below the first tier: no code, and the first tier is next
    assert tier_of(api, member) == {
        "code": None,
        "name": None,
        "privileges": [],
        "since": None,
        "manual_until": None,
        "spend_in_window": "0.00",
        "window_days": 365,
        "next": {"code": "silver", "name": "Серебро", "spend_needed": "1000.00"},
        "keep": None,
    }
    first = buy(api, "600.00", member, "r1")
    assert first["totals"]["earn_points"] == 30  # 5 % of 600 ₽
    # 1,000 ₽ reached on this purchase: silver from now, but this purchase earns the old 5 %
    with translation.override("ru"):
        second = api.post(
            "/purchases", coffee("400.00", member.pk, "r2"), idempotency_key="r2", language="ru"
        ).json()
    assert second["totals"]["earn_points"] == 20
    assert any(
        "«Серебро»" in text and "следующей покупки" in text for text in second["explanation"]
    )
    member.refresh_from_db()
    assert member.tier_code == "silver"
    tier = tier_of(api, member)
    assert (tier["code"], tier["name"], tier["privileges"]) == (
        "silver",
        "Серебро",
        ["Кофе без очереди"],
    )
    assert tier["spend_in_window"] == "1000.00"
    assert tier["next"] == {"code": "gold", "name": "Золото", "spend_needed": "2000.00"}
    assert tier["keep"] is None
    # the next purchase earns at silver: 5 % × 2
    third = buy(api, "100.00", member, "r3")
    assert third["totals"]["earn_points"] == 10
    change = TierChange.objects.get(member=member)
    assert (change.kind, change.from_tier, change.to_tier, change.window_spend) == (
        "upgrade",
        "",
        "silver",
        100_000,
    )
    assert Reason.from_stored(change.reason).render("en") == (
        "1000.00 ₽ spent in the last 365 days: the «Серебро» tier (from 1000.00 ₽)."
    )
    assert_ledger_clean()


@pytest.mark.usefixtures("tiered")
def test_a_tier_gives_its_discount_multiplier_and_redeem_cap(api: Api) -> None:
    member = enroll()
    buy(api, "3000.00", member, "big")  # straight to gold
    member.refresh_from_db()
    assert member.tier_code == "gold"
    quote = api.post("/receipts/calculate", coffee("200.00", member.pk, "q")).json()
    # 10 % off 200 ₽, then 5 % × 3 of the 180 ₽ paid
    assert quote["totals"]["discount"] == "20.00"
    assert quote["totals"]["earn_points"] == 27
    assert quote["lines"][0]["reasons"][0] == "Discount 10% for the «Золото» tier = 20.00 ₽"
    assert "×3 for the «Золото» tier" in quote["lines"][0]["reasons"][1]


@pytest.mark.usefixtures("tiered")
def test_a_return_alone_never_lowers_a_tier_the_review_does_after_the_grace(api: Api) -> None:
    member = enroll()
    purchase = buy(api, "1200.00", member, "p1")
    member.refresh_from_db()
    assert member.tier_code == "silver"
    returned = api.post(
        f"/purchases/{purchase['id']}/returns",
        {"lines": [{"sku": "CAP", "quantity": "1"}]},
        idempotency_key="ret-1",
    )
    assert returned.status_code == 201, returned.content
    member.refresh_from_db()
    assert member.tier_code == "silver"  # the return alone changes nothing
    actor = Actor.system("test")
    day = date(2026, 3, 2)
    first = tier_review(day=day, actor=actor)
    assert (first.at_risk, first.lowered) == (1, 0)
    tier = tier_of(api, member)
    assert tier["keep"] == {"spend_needed": "1000.00", "by": "2026-04-01"}
    # the review runs every day; within the grace period nothing changes, twice a day neither
    for later in (day + timedelta(days=1), day + timedelta(days=29), day + timedelta(days=29)):
        assert tier_review(day=later, actor=actor).lowered == 0
    lowered = tier_review(day=day + timedelta(days=30), actor=actor)
    assert lowered.lowered == 1
    assert tier_review(day=day + timedelta(days=30), actor=actor).lowered == 0  # idempotent
    member.refresh_from_db()
    assert (member.tier_code, member.tier_at_risk_since) == ("", None)
    change = TierChange.objects.filter(member=member).latest("created_at")
    assert (change.kind, change.from_tier, change.to_tier) == ("downgrade", "silver", "")
    assert Reason.from_stored(change.reason).render("en") == (
        "0.00 ₽ spent in the last 365 days, below the «Серебро» tier's 1000.00 ₽ for the 30 "
        "days of grace: no tier."
    )


@pytest.mark.usefixtures("tiered")
def test_spending_again_within_the_grace_keeps_the_tier(api: Api) -> None:
    member = enroll()
    buy(api, "1000.00", member, "p1")
    actor = Actor.system("test")
    # a year on the purchase leaves the window: at risk at the first review that sees it
    year_on = date(2027, 3, 3)
    assert tier_review(day=year_on, actor=actor).at_risk == 1
    with clock.frozen_at(datetime(2027, 3, 10, 9, 0, tzinfo=UTC)):
        buy(api, "1000.00", member, "p2")
    assert tier_review(day=date(2027, 3, 10), actor=actor).at_risk == 0
    member.refresh_from_db()
    assert (member.tier_code, member.tier_at_risk_since) == ("silver", None)
    assert tier_review(day=date(2027, 4, 10), actor=actor).lowered == 0


@pytest.mark.usefixtures("tiered")
def test_a_tier_set_by_staff_holds_through_its_end_date_and_is_shown_as_such(api: Api) -> None:
    member = enroll()
    actor = Actor.system("test")
    tier_set_manual(
        member_id=member.pk, tier_code="gold", until=date(2026, 3, 31), note="блогер", actor=actor
    )
    tier = tier_of(api, member)
    assert (tier["code"], tier["manual_until"], tier["keep"]) == ("gold", "2026-03-31", None)
    assert tier_review(day=date(2026, 3, 20), actor=actor).lowered == 0
    # after the end date the grace period starts: lowered 30 days later, not at once
    assert tier_review(day=date(2026, 4, 1), actor=actor).lowered == 0
    member.refresh_from_db()
    assert (member.tier_code, member.tier_manual_until) == ("gold", None)
    assert tier_review(day=date(2026, 5, 1), actor=actor).lowered == 1
    with pytest.raises(UnknownTier):
        tier_set_manual(
            member_id=member.pk, tier_code="platinum", until=date(2026, 4, 1), note="", actor=actor
        )
    with pytest.raises(TierUntilPast):
        tier_set_manual(
            member_id=member.pk, tier_code="gold", until=date(2026, 3, 1), note="", actor=actor
        )


def test_no_tiers_in_the_program_no_tier_block(api: Api) -> None:
    member = enroll()
    assert api.get(f"/members/{member.pk}").json()["tier"] is None


@pytest.mark.usefixtures("tiered")
def test_daily_jobs_runs_the_review_for_a_day(capsys: Any) -> None:
    member = enroll()
    Member.objects.filter(pk=member.pk).update(tier_code="silver")
    call_command("daily_jobs", "--date", "2026-03-02")
    out = capsys.readouterr().out
    assert (
        '"tiers": {"day": "2026-03-02", "reviewed": 1, "raised": 0, "lowered": 0, "at_risk": 1}'
        in out
    )


@pytest.mark.usefixtures("tiered")
def test_the_member_s_tier_changes_read_newest_first_with_their_why(api: Api) -> None:
    member = enroll()
    buy(api, "1200.00", member, "p1")
    tier_set_manual(
        member_id=member.pk,
        tier_code="gold",
        until=date(2026, 4, 30),
        note="блогер",
        actor=Actor.system("test"),
    )
    answer = api.get(f"/members/{member.pk}/tier-changes", language="ru")
    assert answer.status_code == 200
    manual, upgrade = answer.json()
    assert (manual["kind"], manual["from_tier"], manual["to_tier"]) == ("manual", "silver", "gold")
    assert manual["reason"] == "Уровень «Золото» выставлен сотрудником до 2026-04-30: блогер"
    assert (upgrade["kind"], upgrade["from_tier"], upgrade["to_tier"]) == (
        "upgrade",
        None,
        "silver",
    )
    assert upgrade["by"].startswith("terminal:")
