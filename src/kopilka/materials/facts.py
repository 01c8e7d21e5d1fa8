"""The program's own facts, one short line each, for the printed materials: from the version
in force, so a poster never promises what the program does not give."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from kopilka.core.money import points_text, rubles_text
from kopilka.program.engine import Program
from kopilka.rewards.models import Reward


def percent_number(value: Decimal) -> str:
    """Decimal("5.00") -> "5", Decimal("2.50") -> "2,5" in Russian ("2.5" in English): a
    percentage in the active language, never rounded down to a whole one."""
    return str(number_format(Decimal(format(Decimal(value).normalize(), "f"))))


@dataclass(frozen=True)
class Fact:
    key: str  # stable: the marketer's choice keeps it
    text: str


def rewards_shown() -> list[Reward]:
    """The rewards the materials name (and the quiz asks about): the three cheapest."""
    return list(Reward.objects.order_by("points_price", "code")[:3])


def program_facts(program: Program) -> list[Fact]:
    """Every fact worth printing, the usual leaders first."""
    facts = []
    if program.mode == "points":
        facts.append(
            Fact(
                "earn",
                _("%(percent)s %% back in points on every purchase")
                % {"percent": percent_number(program.earn_percent)},
            )
        )
        facts.append(
            Fact(
                "point_value",
                _("1 point = %(money)s off your next receipts")
                % {"money": rubles_text(program.point_value)},
            )
        )
    if program.mode == "discount" and program.discount_percent:
        facts.append(
            Fact(
                "discount",
                _("%(percent)s %% off every purchase")
                % {"percent": percent_number(program.discount_percent)},
            )
        )
    if program.mode == "accumulating_discount" and program.discount_levels:
        top = max(program.discount_levels, key=lambda level: level.percent)
        facts.append(
            Fact(
                "levels",
                _("A discount that grows with your purchases, up to %(percent)s %%")
                % {"percent": percent_number(top.percent)},
            )
        )
    for reward in rewards_shown():
        facts.append(
            Fact(
                f"reward:{reward.code}",
                _("%(reward)s for %(points)s")
                % {"reward": reward.name, "points": points_text(reward.points_price)},
            )
        )
    for tier in program.tiers:
        if tier.privileges:
            facts.append(Fact(f"tier:{tier.code}", f"{tier.name}: {tier.privileges[0]}"))
    if program.bonuses.welcome:
        facts.append(
            Fact(
                "welcome",
                _("%(points)s as a welcome gift")
                % {"points": points_text(program.bonuses.welcome.points)},
            )
        )
    if program.bonuses.birthday:
        facts.append(
            Fact(
                "birthday",
                _("%(points)s for your birthday")
                % {"points": points_text(program.bonuses.birthday.points)},
            )
        )
    for rule in program.rules:
        facts.append(Fact(f"rule:{rule.code}", rule.name))
    return facts


def chosen_facts(program: Program, keys: list[str], count: int = 3) -> list[Fact]:
    """The marketer's facts that the program still has, topped up with the leaders."""
    facts = program_facts(program)
    by_key = {fact.key: fact for fact in facts}
    chosen = [by_key[key] for key in keys if key in by_key][:count]
    for fact in facts:
        if len(chosen) >= count:
            break
        if fact not in chosen:
            chosen.append(fact)
    return chosen
