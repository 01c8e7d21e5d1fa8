"""The program engine through the API: modes, rules, limits, exclusions, versions and the
receipt's own time, as a till sees them."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import translation

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.models import RuleUse
from kopilka.ledger.selectors import member_balance
from kopilka.pos.models import Purchase, PurchaseLine
from kopilka.pos.terminals import terminal_authenticate, terminal_create
from tests.conftest import Api, assert_ledger_clean, enroll, postgres_only, program_set, receipt
from tests.pos.test_concurrency import in_parallel, post

pytestmark = pytest.mark.django_db
# Monday 7 December 2026, 05:30 UTC = 08:30 in Moscow = 15:30 in Vladivostok
MONDAY = datetime(2026, 12, 7, 5, 30, tzinfo=UTC)
MORNING = {
    "code": "coffee-morning",
    "name": "Утренний кофе ×2",
    "priority": 10,
    "when": {"categories": ["coffee"], "weekdays": [1, 2, 3, 4, 5], "time_from": "07:00",
             "time_to": "11:00"},
    "then": {"earn_multiplier": "2"},
    "limit": {"per_member_per_day": 1},
}  # fmt: skip


def line(sku: str, price: str, category: str = "coffee", quantity: str = "1") -> dict[str, str]:
    return {"sku": sku, "name": sku, "category": category, "quantity": quantity, "price": price}


def body(*lines: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"store": "central", "lines": list(lines), **extra}


@pytest.fixture
def at_monday() -> Any:
    with clock.frozen_at(MONDAY):
        yield


@pytest.mark.usefixtures("at_monday")
def test_a_morning_rule_doubles_the_coffee_and_says_why(api: Api) -> None:
    program_set(rules=[MORNING])
    member = enroll()
    receipt_ = body(line("CAP", "240.00"), line("CAKE", "200.00", "pastry"), member_id=member.pk)
    with translation.override("ru"):
        answer = api.post("/receipts/calculate", receipt_, language="ru").json()
    cap, cake = answer["lines"]
    # 5 % × 2 of 240 ₽ = 24 points on the coffee, 5 % of 200 ₽ = 10 on the cake
    assert (cap["earn_points"], cap["rules"]) == (24, ["coffee-morning"])
    assert (cake["earn_points"], cake["rules"]) == (10, [])
    assert cap["reasons"] == ["5 % базовых + ×2 «Утренний кофе ×2» = 24 балла"]
    english = api.post("/receipts/calculate", receipt_, language="en").json()
    assert english["lines"][0]["reasons"] == ["5% base + ×2 «Утренний кофе ×2» = 24 points"]


def test_purchased_at_is_read_in_the_stores_own_time_zone(api: Api) -> None:
    program_set(rules=[MORNING])
    member = enroll()
    _t, far_key = terminal_create(store_code="vlad", actor=Actor.system("test"))
    far = terminal_authenticate(far_key)
    assert far is not None
    from kopilka.pos.models import Store

    Store.objects.filter(code="vlad").update(time_zone="Asia/Vladivostok")
    # Sunday 22:30 UTC: Monday 01:30 in Moscow (before the morning), 08:30 in Vladivostok
    sunday_night = "2026-12-06T22:30:00+00:00"
    with clock.frozen_at(datetime(2026, 12, 6, 22, 31, tzinfo=UTC)):
        moscow = api.post(
            "/receipts/calculate",
            body(line("CAP", "240.00"), member_id=member.pk, purchased_at=sunday_night),
        ).json()
        vlad = Api(client=api.client, key=far_key).post(
            "/receipts/calculate",
            {**body(line("CAP", "240.00"), member_id=member.pk, purchased_at=sunday_night),
             "store": "vlad"},
        ).json()  # fmt: skip
    assert moscow["lines"][0]["rules"] == [] and moscow["totals"]["earn_points"] == 12
    assert vlad["lines"][0]["rules"] == ["coffee-morning"] and vlad["totals"]["earn_points"] == 24


@pytest.mark.usefixtures("at_monday")
def test_a_once_a_day_rule_is_granted_once(api: Api) -> None:
    program_set(rules=[MORNING])
    member = enroll()
    first = api.post(
        "/purchases", body(line("CAP", "240.00"), member_id=member.pk, receipt_number="1"),
        idempotency_key="1",
    ).json()  # fmt: skip
    second = api.post(
        "/purchases", body(line("CAP", "240.00"), member_id=member.pk, receipt_number="2"),
        idempotency_key="2",
    ).json()  # fmt: skip
    assert (first["totals"]["earn_points"], second["totals"]["earn_points"]) == (24, 12)
    assert RuleUse.objects.filter(member=member, rule="coffee-morning").count() == 1
    # the next morning it applies again
    with clock.frozen_at(MONDAY + timedelta(days=1)):
        third = api.post(
            "/purchases", body(line("CAP", "240.00"), member_id=member.pk, receipt_number="3"),
            idempotency_key="3",
        ).json()  # fmt: skip
    assert third["lines"][0]["rules"] == ["coffee-morning"]
    assert_ledger_clean()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_tills_at_once_get_a_once_a_day_bonus_once(terminal: Any) -> None:
    _principal, key = terminal
    with clock.frozen_at(MONDAY):
        program_set(
            rules=[{"code": "first-visit", "name": "Бонус дня", "then": {"bonus_points": 50},
                    "limit": {"per_member_per_day": 1}}]
        )  # fmt: skip
        member = enroll()

        def buy(index: int) -> tuple[int, dict[str, Any]]:
            with clock.frozen_at(MONDAY):
                receipt_ = receipt(("CAP", "1", "200.00"), member_id=member.pk,
                                   receipt_number=f"till-{index}")  # fmt: skip
                return post(key, "/purchases", receipt_, idempotency_key=f"till-{index}")

        answers = in_parallel(2, buy)
    assert [status for status, _body in answers] == [201, 201]
    earned = sorted(answer["totals"]["earn_points"] for _status, answer in answers)
    assert earned == [10, 60]  # 5 % of 200 ₽ each, the bonus of 50 once
    assert RuleUse.objects.filter(member=member).count() == 1
    assert member_balance(member.pk, MONDAY).available == 70
    assert_ledger_clean()


@pytest.mark.usefixtures("at_monday")
def test_a_return_reverses_what_the_purchases_own_version_gave(api: Api) -> None:
    program_set(earn_percent="10")
    member = enroll()
    bought = api.post(
        "/purchases", body(line("CAP", "500.00"), member_id=member.pk, receipt_number="v1"),
        idempotency_key="v1",
    ).json()  # fmt: skip
    assert bought["totals"]["earn_points"] == 50
    first_version = bought["program_version"]
    with clock.frozen_at(MONDAY + timedelta(hours=1)):
        program_set(earn_percent="1")  # the program changes before the return
        back = api.post(
            f"/purchases/{bought['id']}/returns", {"lines": [{"sku": "CAP", "quantity": "1"}]},
            idempotency_key="back",
        ).json()  # fmt: skip
    assert back["earn_points_reversed"] == 50
    assert Purchase.objects.get(pk=bought["id"]).program_version_id == first_version
    assert member_balance(member.pk, MONDAY + timedelta(hours=2)).available == 0
    assert_ledger_clean()


@pytest.mark.usefixtures("at_monday")
def test_a_discount_card_prices_each_line_for_the_fiscal_receipt(api: Api) -> None:
    program_set(mode="discount", discount_percent="7")
    member = enroll()
    answer = api.post(
        "/purchases",
        body(line("CAP", "250.00", quantity="2"), line("CIG", "300.00", "tobacco"),
             member_id=member.pk, receipt_number="d1"),
        idempotency_key="d1",
    ).json()  # fmt: skip
    cap, cig = answer["lines"]
    assert (cap["amount"], cap["discount"], cap["payable"], cap["earn_points"]) == (
        "500.00", "35.00", "465.00", 0,
    )  # fmt: skip
    # tobacco: no discount by law (15-FZ art. 16), and the line says so
    assert (cig["discount"], cig["payable"]) == ("0.00", "300.00")
    assert any("15" in reason for reason in cig["reasons"])
    assert answer["totals"]["discount"] == "35.00"
    stored = PurchaseLine.objects.get(purchase_id=answer["id"], sku="CAP")
    assert (stored.discount, stored.rules) == (3500, [])
    assert [r["code"] for r in stored.reasons] == ["line_discount"]


@pytest.mark.usefixtures("at_monday")
def test_an_accumulating_discount_grows_with_the_members_spend(api: Api) -> None:
    program_set(
        mode="accumulating_discount",
        discount_levels=[{"from_spend": "0.00", "percent": "3"},
                         {"from_spend": "1000.00", "percent": "5"}],
    )  # fmt: skip
    member = enroll()
    first = api.post(
        "/purchases", body(line("BAG", "1000.00", "coffee-beans"), member_id=member.pk,
                           receipt_number="a1"), idempotency_key="a1",
    ).json()  # fmt: skip
    assert first["lines"][0]["discount"] == "30.00"  # 3 %: spend 0 before this receipt
    profile = api.get(f"/members/{member.pk}").json()
    assert profile["discount"] == {
        "mode": "accumulating_discount",
        "percent": "3",
        "spend": "970.00",
        "next": {"percent": "5", "spend_needed": "30.00"},
    }
    api.post(
        "/purchases", body(line("BUN", "100.00", "pastry"), member_id=member.pk,
                           receipt_number="a2"), idempotency_key="a2",
    )  # fmt: skip
    third = api.post(
        "/receipts/calculate", body(line("BAG", "1000.00", "coffee-beans"), member_id=member.pk)
    ).json()  # fmt: skip
    assert third["lines"][0]["discount"] == "50.00"  # 5 % now: 970 + 97 ≥ 1000
    assert api.get(f"/members/{member.pk}").json()["discount"]["next"] is None


@pytest.mark.usefixtures("at_monday")
def test_purchased_at_too_far_ahead_or_back_is_refused_and_writes_nothing(api: Api) -> None:
    member = enroll()
    for when in ("2026-12-07T05:40:00+00:00", "2026-11-01T05:30:00+00:00"):
        response = api.post(
            "/purchases",
            body(line("CAP", "240.00"), member_id=member.pk, receipt_number="t",
                 purchased_at=when),
            idempotency_key=f"t-{when}",
        )  # fmt: skip
        assert response.status_code == 422, response.content
        error = response.json()["error"]
        assert (error["code"], list(error["fields"])) == (
            "purchased_at_out_of_range",
            ["purchased_at"],
        )
    naive = api.post(
        "/receipts/calculate",
        body(line("CAP", "240.00"), member_id=member.pk, purchased_at="2026-12-07T05:00:00"),
    )
    assert naive.status_code == 422  # an offset is required
    assert not Purchase.objects.exists()


@pytest.mark.usefixtures("at_monday")
def test_an_offline_receipt_keeps_its_own_time(api: Api) -> None:
    member = enroll()
    answer = api.post(
        "/purchases",
        body(line("CAP", "240.00"), member_id=member.pk, receipt_number="off",
             purchased_at="2026-12-05T09:00:00+03:00"),
        idempotency_key="off",
    ).json()  # fmt: skip
    purchase = Purchase.objects.get(pk=answer["id"])
    assert purchase.purchased_at == datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    assert purchase.created_at == MONDAY
    assert answer["purchased_at"] == "2026-12-05T06:00:00+00:00"
