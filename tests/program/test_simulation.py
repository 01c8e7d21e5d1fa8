"""What-if simulation: the live program against itself changes nothing and gives the ledger's
real totals for the period exactly; a more generous draft costs more and leaves members better
off; the command reads a draft file and refuses a bad one."""

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Sum
from django.utils import translation

from kopilka.core import clock
from kopilka.core.money import format_rubles
from kopilka.ledger.models import Transfer
from kopilka.members.models import Member
from kopilka.pos.models import Purchase, PurchaseReturn, ReturnLine
from kopilka.program.engine import Program
from kopilka.program.selectors import program_in_force
from kopilka.program.simulation import ASSUMPTIONS, BINS, change_distribution, simulate
from tests.conftest import postgres_only, staff_user
from tests.demo.test_load_demo import NOW, load

pytestmark = pytest.mark.django_db
SINCE = NOW - timedelta(days=400)


def total(queryset, expression) -> int:  # type: ignore[no-untyped-def]
    return int(queryset.aggregate(n=Sum(expression))["n"] or 0)


def test_the_live_program_against_itself_reproduces_the_ledger() -> None:
    load()
    with clock.frozen_at(NOW):
        live_program = program_in_force()  # the demo's: the default terms with two tiers
        assert live_program.tiers
        result = simulate(live_program, since=SINCE, until=NOW)
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
    held = Member.objects.exclude(tier_code="").values("tier_code").annotate(n=Count("id"))
    assert {k: n for k, n in live["tiers"].items() if k} == {
        row["tier_code"]: row["n"] for row in held
    }
    assert len(held) == 2  # the replay reaches the tiers the demo's members reached
    # the months add up to the period, on both sides alike
    months = result["months"]
    assert [m["live_cost"] for m in months] == [m["draft_cost"] for m in months]
    month_costs = sum(Decimal(m["live_cost"]) for m in months)
    assert month_costs == Decimal(live["program_cost"]) > 0
    assert [m["month"] for m in months] == sorted({m["month"] for m in months})
    assert result["change_distribution"] == [
        {"from": 0, "to": 0, "members": result["change_distribution"][0]["members"]}
    ]
    with translation.override("en"):
        assumptions = [str(line) for line in ASSUMPTIONS]
    assert "Behaviour does not react to the change." in assumptions
    assert len(result["assumptions"]) == len(ASSUMPTIONS)


def test_a_more_generous_draft_costs_more_and_leaves_members_better_off() -> None:
    load()
    with clock.frozen_at(NOW):
        generous = replace(program_in_force(), earn_percent=Decimal(10))  # twice the demo's
        result = simulate(generous, since=SINCE, until=NOW)
    assert result["draft"]["points_earned"] > 1.9 * result["live"]["points_earned"]
    assert result["members_better_off"] > 0 and result["members_worse_off"] == 0
    assert result["median_change_points"] > 0
    bars = result["change_distribution"]
    assert sum(bar["members"] for bar in bars) == len(
        set(Purchase.objects.exclude(member=None).values_list("member_id", flat=True))
    )
    assert all(bar["from"] >= 0 for bar in bars) and bars[-1]["members"] > 0
    assert all(a["to"] < b["from"] for a, b in pairwise(bars))


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


def test_the_change_distribution_folds_the_tails_and_keeps_empty_bars() -> None:
    changes = [-300, -2, -1, 0, 0, 0, *range(1, 200), 10_000]
    bars = change_distribution(changes)
    assert sum(bar["members"] for bar in bars) == len(changes)
    assert bars[0]["from"] == -300 and bars[-1]["to"] == 10_000  # the extremes, folded in
    assert {"from": 0, "to": 0, "members": 3} in bars
    assert len([bar for bar in bars if bar["from"] > 0]) <= BINS
    assert all(a["to"] < b["from"] for a, b in pairwise(bars))
    assert change_distribution([]) == []
    # a side's bars start next to zero, so the distance from no change shows
    assert change_distribution([5]) == [
        {"from": k, "to": k, "members": int(k == 5)} for k in range(1, 6)
    ]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_processes_give_what_one_gives() -> None:
    load()
    with clock.frozen_at(NOW):
        draft = Program(earn_percent=Decimal(7))
        alone = simulate(draft, since=SINCE, until=NOW)
        split = simulate(draft, since=SINCE, until=NOW, workers=2)
    assert split == alone


@pytest.mark.django_db(transaction=True)  # the worker closes its connection when it is done
def test_staff_start_a_run_the_worker_does_it_and_the_result_reads_back(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.test import Client

    from kopilka.program.models import Simulation

    load()
    staff = Client()
    staff.force_login(staff_user("boss"))
    body = {"draft": {"earn_percent": "7"}, "since": "2025-01-01", "until": "2026-06-16"}
    with clock.frozen_at(NOW), django_capture_on_commit_callbacks(execute=True):
        started = staff.post("/api/v1/program/simulations", body, content_type="application/json")
    assert started.status_code == 202, started.content
    run = started.json()
    assert (run["status"], run["progress"], run["result"]) == ("queued", 0.0, None)
    with clock.frozen_at(NOW):
        call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    done = staff.get(f"/api/v1/program/simulations/{run['id']}").json()
    assert (done["status"], done["progress"]) == ("ready", 1.0), done["error"]
    assert done["purchases_total"] == done["result"]["purchases"] == Purchase.objects.count()
    assert done["result"]["draft"]["points_earned"] > done["result"]["live"]["points_earned"]
    assert Simulation.objects.get().purchases_done == Purchase.objects.count()


def test_only_staff_start_runs_and_a_bad_draft_is_refused_with_its_problems(api: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from kopilka.program.models import Simulation

    url = "/api/v1/program/simulations"
    good = {"draft": {"earn_percent": "7"}}
    assert Client().post(url, good, content_type="application/json").status_code == 401
    assert api.post("/program/simulations", good).status_code == 401  # a till is not staff
    member = Client()
    member.force_login(get_user_model().objects.create_user("anna"))
    assert member.post(url, good, content_type="application/json").status_code == 401
    staff = Client()
    staff.force_login(staff_user("boss"))
    bad = staff.post(url, {"draft": {"earn_percent": "-1"}}, content_type="application/json")
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "draft_invalid" and "draft.earn_percent" in error["fields"]
    backwards = {**good, "since": "2026-02-01", "until": "2026-01-01"}
    assert staff.post(url, backwards, content_type="application/json").status_code == 422
    assert not Simulation.objects.exists()
    assert staff.get(f"{url}/999").json()["error"]["code"] == "simulation_not_found"


def test_a_staff_post_without_the_csrf_token_is_refused() -> None:
    from django.test import Client

    staff = Client(enforce_csrf_checks=True)
    staff.force_login(staff_user("boss"))
    body = {"draft": {"earn_percent": "7"}}
    url = "/api/v1/program/simulations"
    refused = staff.post(url, body, content_type="application/json")
    assert refused.status_code == 403
    staff.get("/admin/")  # a page with a form sets the CSRF cookie
    token = staff.cookies["csrftoken"].value
    accepted = staff.post(
        url, body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 202, accepted.content


def test_a_member_starts_the_period_at_the_tier_they_held(api: Any) -> None:
    from datetime import UTC, datetime

    from tests.conftest import enroll, program_set
    from tests.members.test_tiers import TIERS, buy

    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with clock.frozen_at(start):
        program_set(tiers=TIERS)
        member = enroll()
        buy(api, "1200.00", member, "before")  # silver from here: points ×2
    later = start + timedelta(days=10)
    with clock.frozen_at(later):
        after = buy(api, "100.00", member, "after")
        assert after["totals"]["earn_points"] == 10  # 5 % × 2 at silver
        result = simulate(
            program_version_in_force(),
            since=later - timedelta(days=1),
            until=later + timedelta(hours=1),
        )
    assert result["purchases"] == 1
    assert result["live"]["points_earned"] == result["draft"]["points_earned"] == 10


def program_version_in_force() -> Program:
    from kopilka.program.selectors import program_in_force

    return program_in_force()
