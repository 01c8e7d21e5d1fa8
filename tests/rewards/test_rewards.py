"""The rewards catalogue and the exchange of points for vouchers, through the API: what each
member sees, the refusals, one outcome per Idempotency-Key, and stock that never goes below zero
when tills exchange at the same moment (PostgreSQL)."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.models import Transfer
from kopilka.ledger.selectors import member_balance, transfer_description
from kopilka.ledger.services import points_adjust
from kopilka.members.models import Member
from kopilka.rewards.models import Reward, Voucher
from tests.conftest import Api, assert_ledger_clean, enroll, postgres_only
from tests.pos.test_concurrency import in_parallel, post

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_now() -> Any:
    with clock.frozen_at(NOW):
        yield


def reward(code: str = "cappuccino", **fields: Any) -> Reward:
    values: dict[str, Any] = {
        "name": "Бесплатный капучино",
        "kind": Reward.Kind.FREE_PRODUCT,
        "sku": "CAP",
        "points_price": 250,
        "cost": 3000,
        "created_at": NOW,
        **fields,
    }
    return Reward.objects.create(code=code, **values)


def with_points(points: int, phone: str = "+79161234567") -> Member:
    from django.contrib.auth import get_user_model

    member = enroll(phone)
    staff, _ = get_user_model().objects.get_or_create(username="boss")
    points_adjust(member_id=member.pk, points=points, reason="test", actor=Actor.staff(staff))
    return member


def test_the_catalogue_says_what_each_reward_needs(api: Api) -> None:
    member = with_points(300)
    reward("cappuccino")
    reward("dessert", name="Десерт", points_price=500, cost=5000)
    reward("last", name="Последний", points_price=100, stock=0)
    reward("gold-only", name="Для Золота", points_price=100, tiers=["gold"])
    reward("ended", name="Прошла", points_price=100, active_until=date(2026, 3, 1))
    answer = api.get(f"/members/{member.pk}/rewards")
    assert answer.status_code == 200
    rows = {r["code"]: r for r in answer.json()}
    assert set(rows) == {"cappuccino", "dessert", "last"}  # not another tier's, not ended
    assert (rows["cappuccino"]["affordable"], rows["cappuccino"]["points_missing"]) == (True, 0)
    assert (rows["dessert"]["affordable"], rows["dessert"]["points_missing"]) == (False, 200)
    assert (rows["last"]["affordable"], rows["last"]["out_of_stock"]) == (False, True)


def test_an_exchange_spends_the_points_and_issues_a_voucher_once_per_key(api: Api) -> None:
    member = with_points(300)
    reward("cappuccino", stock=5, valid_days=14)
    url = f"/members/{member.pk}/rewards/cappuccino/exchange"
    first = api.post(url, {}, idempotency_key="ex-1")
    assert first.status_code == 201, first.content
    voucher = first.json()["voucher"]
    assert voucher["reward"] == "cappuccino" and len(voucher["code"]) == 12
    assert voucher["valid_until"] == "2026-03-17T00:00:00+03:00"  # 14 days, through the 16th
    again = api.post(url, {}, idempotency_key="ex-1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert Voucher.objects.count() == 1
    assert member_balance(member.pk).available == 50
    assert Reward.objects.get(code="cappuccino").stock == 4
    spent = Transfer.objects.get(kind="reward")
    assert (spent.points, spent.reason) == (-250, "Бесплатный капучино")
    assert "250" in transfer_description(spent)
    assert_ledger_clean()


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ({"points_price": 400}, 422, "insufficient_points"),
        ({"stock": 0}, 409, "reward_out_of_stock"),
        ({"per_member_limit": 0}, 409, "reward_limit_reached"),
        ({"active_from": date(2026, 4, 1)}, 422, "reward_not_available"),
    ],
)
def test_a_refused_exchange_changes_nothing(
    api: Api, setup: dict[str, Any], status: int, code: str
) -> None:
    member = with_points(300)
    reward("cappuccino", **setup)
    answer = api.post(f"/members/{member.pk}/rewards/cappuccino/exchange", {}, idempotency_key="no")
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert not Voucher.objects.exists() and not Transfer.objects.filter(kind="reward").exists()
    assert member_balance(member.pk).available == 300


def test_an_unknown_reward_and_a_missing_key(api: Api) -> None:
    member = with_points(300)
    missing = api.post(f"/members/{member.pk}/rewards/nothing/exchange", {}, idempotency_key="k")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "reward_not_found")
    reward("cappuccino")
    keyless = api.post(f"/members/{member.pk}/rewards/cappuccino/exchange", {})
    assert keyless.status_code == 400
    assert keyless.json()["error"]["code"] == "idempotency_key_required"


def test_the_per_member_limit_counts_every_voucher(api: Api) -> None:
    member = with_points(1000)
    reward("cappuccino", per_member_limit=2)
    url = f"/members/{member.pk}/rewards/cappuccino/exchange"
    assert [api.post(url, {}, idempotency_key=f"k{n}").status_code for n in range(3)] == [
        201,
        201,
        409,
    ]
    rows = api.get(f"/members/{member.pk}/rewards").json()
    assert rows[0]["limit_reached"] is True


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_stock_never_goes_below_zero_when_tills_exchange_at_once(
    terminal: tuple[Any, str],
) -> None:
    _principal, key = terminal
    with clock.frozen_at(NOW):
        members = [with_points(500, f"+7916123450{n}") for n in range(8)]
        reward("cappuccino", stock=3)

    def exchange(index: int) -> int:
        with clock.frozen_at(NOW):
            member = members[index]
            status, _body = post(
                key, f"/members/{member.pk}/rewards/cappuccino/exchange", {}, f"ex-{index}"
            )
            return status

    statuses = in_parallel(8, exchange)
    assert sorted(statuses) == [201] * 3 + [409] * 5
    assert Reward.objects.get(code="cappuccino").stock == 0
    assert Voucher.objects.count() == 3
    assert_ledger_clean()


def test_a_reward_says_what_its_kind_needs() -> None:
    from django.core.exceptions import ValidationError

    for fields, field in [
        ({"kind": Reward.Kind.FREE_PRODUCT, "sku": ""}, "sku"),
        ({"kind": Reward.Kind.FIXED_DISCOUNT, "amount": 0}, "amount"),
        ({"kind": Reward.Kind.PERCENT_DISCOUNT, "category": "", "percent": 10}, "category"),
        ({"kind": Reward.Kind.PERCENT_DISCOUNT, "category": "coffee", "percent": 0}, "percent"),
        ({"active_from": date(2026, 3, 2), "active_until": date(2026, 3, 1)}, "active_until"),
    ]:
        candidate = Reward(
            code="r", name="R", points_price=10, cost=0, created_at=NOW, **{"sku": "CAP", **fields}
        )
        with pytest.raises(ValidationError) as caught:
            candidate.full_clean()
        assert field in caught.value.message_dict
