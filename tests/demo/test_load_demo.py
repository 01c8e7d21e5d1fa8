import json
from collections import Counter
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum

from kopilka.core import clock
from kopilka.ledger.checks import ledger_problems
from kopilka.members.models import Member
from kopilka.pos.models import Purchase, PurchaseLine
from kopilka.pos.terminals import terminal_authenticate

pytestmark = pytest.mark.django_db

# A fixed "now", so two runs with one seed plan the same visits up to the same moment.
NOW = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)
SMALL = {"members": 60, "purchases": 600, "months": 6, "seed": 1}


def load(**options: object) -> tuple[dict[str, object], list[str]]:
    out = StringIO()
    with clock.frozen_at(NOW):
        call_command("load_demo", stdout=out, **{**SMALL, **options})
    lines = out.getvalue().splitlines()
    return json.loads(lines[0]), lines


def test_demo_data_is_realistic_and_the_ledger_whole() -> None:
    summary, lines = load()

    assert Member.objects.count() == 60
    assert 540 <= Purchase.objects.count() <= 660
    assert summary["purchases"] == Purchase.objects.count()
    assert Purchase.objects.filter(member=None).count() >= 60
    per_member = Counter(
        Purchase.objects.exclude(member=None)
        .values("member")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    assert sum(per_member.values()) == 60  # everyone who joined bought something
    assert per_member[1] >= 8  # many come once
    assert sum(n for visits, n in per_member.items() if visits >= 5) >= 10  # some come back often
    assert Purchase.objects.filter(redeem_points__gt=0).exists()
    assert ledger_problems() == []
    line_totals = dict(
        PurchaseLine.objects.values("purchase")
        .annotate(total=Sum("amount"))
        .values_list("purchase", "total")
    )
    assert all(line_totals[p.pk] == p.amount for p in Purchase.objects.all())
    assert lines[-2].startswith("admin login: admin / ")
    assert terminal_authenticate(lines[-1]) is not None


def test_the_same_seed_gives_the_same_figures() -> None:
    first, _lines = load()
    second, _lines = load(reset=True)
    assert {**first, "seconds": 0} == {**second, "seconds": 0}
    assert ledger_problems() == []


def test_a_second_load_without_reset_is_refused() -> None:
    load()
    with pytest.raises(CommandError, match="--reset"):
        load()
    assert Member.objects.count() == 60


def test_the_demo_has_a_catalogue_and_a_reset_clears_vouchers_and_bonuses() -> None:
    from kopilka.core.audit import Actor
    from kopilka.ledger.models import BonusGrant
    from kopilka.members.bonuses import bonus_grant
    from kopilka.rewards.models import Reward, Voucher
    from kopilka.rewards.services import reward_exchange

    load()
    assert set(Reward.objects.values_list("code", flat=True)) == {
        "cappuccino",
        "croissant",
        "minus-100",
        "mug",
    }
    rich = Member.objects.order_by("-points_balance").first()
    assert rich is not None and rich.points_balance >= 150
    with clock.frozen_at(NOW):
        reward_exchange(member_id=rich.pk, code="croissant", actor=Actor.system("test"))
        bonus_grant(
            member_id=rich.pk,
            kind="welcome",
            key="",
            points=10,
            expires_at=datetime(2027, 1, 1, tzinfo=UTC),
            at=NOW,
            actor=Actor.system("test"),
        )
    load(reset=True)  # vouchers and bonuses point at members and transfers: cleared first
    assert not Voucher.objects.exists() and not BonusGrant.objects.exists()
    assert Reward.objects.count() == 4  # the catalogue stays, like the program
    assert ledger_problems() == []
