"""Vouchers at the till: calculate and purchase take "vouchers", the engine applies each with its
reason, a voucher is used once (two tills at the same moment included, PostgreSQL), a full
return gives it back while it is still valid, and every bad code gets its own error."""

from datetime import timedelta
from typing import Any

import pytest

from kopilka.analytics.frames import frames_load
from kopilka.analytics.kpi import Scope, program_kpis
from kopilka.core import clock
from kopilka.rewards.models import Reward, Voucher
from tests.conftest import Api, assert_ledger_clean, postgres_only
from tests.pos.test_concurrency import in_parallel, post
from tests.rewards.test_rewards import NOW, reward, with_points

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def at_now() -> Any:
    with clock.frozen_at(NOW):
        yield


def line(sku: str, price: str, category: str = "coffee", quantity: str = "1") -> dict[str, str]:
    return {"sku": sku, "name": sku, "category": category, "quantity": quantity, "price": price}


def receipt(member_id: int | None, *lines: dict[str, str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"store": "central", "lines": list(lines), **extra}
    if member_id is not None:
        body["member_id"] = member_id
    return body


def exchange(api: Api, member_id: int, code: str, key: str) -> str:
    answer = api.post(f"/members/{member_id}/rewards/{code}/exchange", {}, idempotency_key=key)
    assert answer.status_code == 201, answer.content
    voucher: str = answer.json()["voucher"]["code"]
    return voucher


def test_a_free_product_voucher_pays_one_unit_and_is_used_once(api: Api) -> None:
    member = with_points(300)
    reward("cappuccino")
    code = exchange(api, member.pk, "cappuccino", "ex")
    body = receipt(member.pk, line("CAP", "240.00", quantity="2"), line("CAKE", "100.00", "pastry"))
    quote = api.post(
        "/receipts/calculate", {**body, "vouchers": [code.lower()]}, language="ru"
    ).json()
    cap = quote["lines"][0]
    assert (cap["discount"], cap["payable"]) == ("240.00", "240.00")
    assert "«Бесплатный капучино» по купону: −240.00 ₽" in cap["reasons"]
    # points are earned on what is paid: 5 % of 240 + 100 ₽
    assert quote["totals"]["earn_points"] == 17
    bought = api.post(
        "/purchases", {**body, "vouchers": [code], "receipt_number": "v1"}, idempotency_key="v1"
    )
    assert bought.status_code == 201, bought.content
    voucher = Voucher.objects.get(code=code)
    assert voucher.used_at is not None and voucher.purchase_id == bought.json()["id"]
    assert voucher.discount == 24000  # what it took off, beside its reward's cost of 30 ₽
    again = api.post(
        "/purchases", {**body, "vouchers": [code], "receipt_number": "v2"}, idempotency_key="v2"
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "voucher_used")
    assert_ledger_clean()


def test_fixed_and_percent_vouchers_and_what_they_never_touch(api: Api) -> None:
    member = with_points(1000)
    reward("minus-100", kind=Reward.Kind.FIXED_DISCOUNT, amount=10_000, points_price=100)
    reward(
        "pastry-20",
        kind=Reward.Kind.PERCENT_DISCOUNT,
        category="pastry",
        percent=20,
        points_price=100,
    )
    fixed = exchange(api, member.pk, "minus-100", "a")
    percent = exchange(api, member.pk, "pastry-20", "b")
    body = receipt(
        member.pk,
        line("CAP", "300.00"),
        line("CAKE", "100.00", "pastry"),
        line("CIG", "200.00", "tobacco"),
        vouchers=[percent, fixed],
    )
    quote = api.post("/receipts/calculate", body).json()
    cap, cake, cig = quote["lines"]
    # 20 % off the cake (20 ₽), then 100 ₽ spread over the 300 + 80 ₽ left; tobacco untouched
    assert [cap["discount"], cake["discount"], cig["discount"]] == ["78.95", "41.05", "0.00"]
    assert quote["totals"]["discount"] == "120.00"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("nothing_matches", 422, "voucher_not_applicable"),
        ("someone_elses", 422, "voucher_not_found"),
        ("expired", 422, "voucher_expired"),
        ("guest", 422, "voucher_not_found"),
        ("twice", 409, "voucher_used"),
    ],
)
def test_every_bad_voucher_gets_its_own_error_and_changes_nothing(
    api: Api, case: str, status: int, code: str
) -> None:
    anna = with_points(300)
    boris = with_points(300, "+79161234999")
    reward("cappuccino", valid_days=1)
    voucher = exchange(api, anna.pk, "cappuccino", "ex")
    member_id: int | None = anna.pk
    lines = [line("CAP", "240.00")]
    vouchers = [voucher]
    if case == "nothing_matches":
        lines = [line("TEA", "100.00", "tea")]
    elif case == "someone_elses":
        member_id = boris.pk
    elif case == "guest":
        member_id = None
    elif case == "twice":
        vouchers = [voucher, voucher]
    moment = NOW + timedelta(days=3) if case == "expired" else NOW
    with clock.frozen_at(moment):
        answer = api.post(
            "/purchases",
            receipt(member_id, *lines, vouchers=vouchers, receipt_number="x"),
            idempotency_key="x",
        )
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert Voucher.objects.get(code=voucher).used_at is None


def test_a_full_return_gives_the_voucher_back_a_partial_one_does_not(api: Api) -> None:
    member = with_points(600)
    reward("cappuccino")
    first = exchange(api, member.pk, "cappuccino", "e1")
    second = exchange(api, member.pk, "cappuccino", "e2")
    bought = []
    for n, code in enumerate((first, second)):
        body = receipt(
            member.pk, line("CAP", "240.00", quantity="2"), vouchers=[code], receipt_number=f"r{n}"
        )
        answer = api.post("/purchases", body, idempotency_key=f"r{n}")
        assert answer.status_code == 201, answer.content
        bought.append(answer.json()["id"])
    full = api.post(
        f"/purchases/{bought[0]}/returns",
        {"lines": [{"sku": "CAP", "quantity": "2"}]},
        idempotency_key="back-1",
    )
    partial = api.post(
        f"/purchases/{bought[1]}/returns",
        {"lines": [{"sku": "CAP", "quantity": "1"}]},
        idempotency_key="back-2",
    )
    assert (full.status_code, partial.status_code) == (201, 201)
    given_back, still_used = Voucher.objects.get(code=first), Voucher.objects.get(code=second)
    assert (given_back.used_at, given_back.discount) == (None, 0)  # usable again
    assert still_used.used_at is not None and still_used.discount == 24000
    assert_ledger_clean()


def test_the_program_cost_counts_a_free_coffee_at_its_cost_not_its_price(api: Api) -> None:
    member = with_points(300)
    reward("cappuccino", cost=3000)
    code = exchange(api, member.pk, "cappuccino", "ex")
    body = receipt(
        member.pk,
        line("CAP", "240.00"),
        line("CAKE", "100.00", "pastry"),
        vouchers=[code],
        receipt_number="c1",
        redeem_points=10,
    )
    assert api.post("/purchases", body, idempotency_key="c1").status_code == 201
    frames = frames_load(as_of=NOW + timedelta(days=1))
    day = NOW.date()
    got = program_kpis(frames, Scope(day, day + timedelta(days=1)), gross_margin=0.3)
    assert (got["discounts"], got["rewards_cost"]) == (24000, 3000)
    assert got["revenue"] == 10000  # the cake: the coffee was free
    assert got["program_cost"] == 10 * 100 + 3000  # 10 points, and the coffee's 30 ₽


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_tills_using_one_voucher_at_once_use_it_once(
    terminal: tuple[Any, str], api: Api
) -> None:
    _principal, key = terminal
    with clock.frozen_at(NOW):
        member = with_points(300)
        reward("cappuccino")
        code = exchange(api, member.pk, "cappuccino", "ex")

    def buy(index: int) -> int:
        with clock.frozen_at(NOW + timedelta(seconds=1)):
            body = receipt(
                member.pk, line("CAP", "240.00"), vouchers=[code], receipt_number=f"t{index}"
            )
            status, _body = post(key, "/purchases", body, f"t{index}")
            return status

    assert sorted(in_parallel(2, buy)) == [201, 409]
    assert Voucher.objects.get(code=code).used_at is not None
    assert_ledger_clean()
