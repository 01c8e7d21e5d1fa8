"""What-if simulation: the live program against itself changes nothing and gives the ledger's
real totals for the period exactly; a more generous draft costs more and leaves members better
off; the command reads a draft file and refuses a bad one."""

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F, Sum

from kopilka.core import clock
from kopilka.core.money import format_rubles
from kopilka.ledger.models import Transfer
from kopilka.pos.models import Purchase, PurchaseReturn, ReturnLine
from kopilka.program.engine import Program
from kopilka.program.simulation import simulate
from tests.conftest import postgres_only
from tests.demo.test_load_demo import NOW, load

pytestmark = pytest.mark.django_db
SINCE = NOW - timedelta(days=400)


def total(queryset, expression) -> int:  # type: ignore[no-untyped-def]
    return int(queryset.aggregate(n=Sum(expression))["n"] or 0)


def test_the_live_program_against_itself_reproduces_the_ledger() -> None:
    load()
    with clock.frozen_at(NOW):
        result = simulate(Program(), since=SINCE, until=NOW)
    live, draft = result["live"], result["draft"]
    assert live == draft
    assert (result["members_better_off"], result["members_worse_off"]) == (0, 0)
    assert result["median_change_points"] == 0
    assert result["purchases"] == Purchase.objects.count()
    purchases, returns = Purchase.objects.all(), PurchaseReturn.objects.all()
    assert live["points_earned"] == total(purchases, "earn_points")
    assert live["points_taken_back"] == total(returns, "earn_reversed")
    redeemed = total(purchases, "redeem_points") - total(returns, "redeem_refunded")
    assert live["points_redeemed"] == redeemed
    discounts = total(purchases, "discount") - total(ReturnLine.objects.all(), "discount")
    assert live["discounts"] == format_rubles(discounts)
    revenue = total(purchases, F("amount") - F("discount")) - total(
        ReturnLine.objects.all(), F("amount") - F("discount")
    )
    assert live["revenue"] == format_rubles(revenue)
    expired = -total(Transfer.objects.filter(kind="expire"), "points")
    assert live["breakage_points"] == expired  # 6 months of demo under a 365-day expiry: 0
    assert "Behaviour does not react to the change." in result["assumptions"]


def test_a_more_generous_draft_costs_more_and_leaves_members_better_off() -> None:
    load()
    with clock.frozen_at(NOW):
        result = simulate(Program(earn_percent=Decimal(10)), since=SINCE, until=NOW)
    assert result["draft"]["points_earned"] > 1.9 * result["live"]["points_earned"]
    assert result["members_better_off"] > 0 and result["members_worse_off"] == 0
    assert result["median_change_points"] > 0


def test_the_command_reads_a_draft_and_refuses_a_bad_one(tmp_path: Path) -> None:
    load()
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({"earn_percent": "7"}), encoding="utf-8")
    out = StringIO()
    with clock.frozen_at(NOW):
        call_command("program_simulate", "--draft", str(draft), "--since", "2025-01-01", stdout=out)
    result = json.loads(out.getvalue())
    assert set(result) >= {"purchases", "members", "live", "draft", "members_better_off"}
    assert result["draft"]["points_earned"] > result["live"]["points_earned"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"earn_percent": "-1"}), encoding="utf-8")
    with pytest.raises(CommandError, match="earn_percent"):
        call_command("program_simulate", "--draft", str(bad))
    with pytest.raises(CommandError, match="not JSON"):
        bad.write_text("{", encoding="utf-8")
        call_command("program_simulate", "--draft", str(bad))
    with pytest.raises(CommandError, match="after"):
        call_command(
            "program_simulate",
            "--draft",
            str(draft),
            "--since",
            "2026-02-01",
            "--until",
            "2026-01-01",
        )


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_processes_give_what_one_gives() -> None:
    load()
    with clock.frozen_at(NOW):
        draft = Program(earn_percent=Decimal(7))
        alone = simulate(draft, since=SINCE, until=NOW)
        split = simulate(draft, since=SINCE, until=NOW, workers=2)
    assert split == alone
