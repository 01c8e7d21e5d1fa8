"""The training quiz for new staff: ten multiple-choice questions on the program in force, each
right answer in the very words of the printed materials and the cheat-sheet (`facts`,
`cheatsheet`, the program's own explanation), so the three never disagree.

Pure: a program and the rewards in, questions out. The wrong choices are the right one's
template with other figures (half, double, a neighbour's), or a plausible misbelief; the order
of the choices is shuffled with the program version and the question's key as the seed, so a
rendered form and its marking see the same order.
"""

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopilka.core.money import points_text, rubles_text
from kopilka.materials.cheatsheet import common_answers
from kopilka.materials.facts import percent_number
from kopilka.program.engine import Program
from kopilka.rewards.models import Reward

QUESTIONS = 10
CHOICES = 4
T = TypeVar("T")


@dataclass(frozen=True)
class Question:
    key: str  # stable: seeds the order of the choices, names the form's field
    text: str
    choices: tuple[str, ...]
    right: str

    @property
    def right_index(self) -> int:
        return self.choices.index(self.right)


def _question(
    program: Program, key: str, text: str, right: T, wrong: Iterable[T], say: Callable[[T], str]
) -> Question:
    """The right value and the first wrong ones that read differently from it and each other."""
    said = say(right)
    choices = [said]
    for value in wrong:
        candidate = say(value)
        if candidate not in choices:
            choices.append(candidate)
        if len(choices) == CHOICES:
            break
    assert len(choices) >= 3, key  # every question offers enough wrong figures
    random.Random(f"{program.version}:{key}").shuffle(choices)
    return Question(key, text, tuple(choices), said)


def _percents(right: Decimal, *more: Decimal) -> list[Decimal]:
    """Plausible wrong percentages: half, double, a few points more, the usual ones."""
    found = [right / 2, right * 2, right + 5, right + 2, *more, Decimal(1), Decimal(3)]
    return [p for p in found if 0 < p <= 100 and p != right]


def _amounts(right: int, others: Sequence[int] = ()) -> list[int]:
    """Plausible wrong amounts (points, kopecks): a neighbour's, double, half, half as much again."""
    found = [*others, right * 2, right // 2, right * 3 // 2, right + 100, right * 10, right + 1000]
    return [n for n in found if n > 0 and n != right]


def _asks(question: str) -> str:
    return _("A member asks: “%(question)s” What do you answer?") % {"question": question}


def _earn(program: Program, rewards: Sequence[Reward]) -> Question | None:
    if program.mode != "points" or program.earn_percent <= 0:
        return None
    return _question(
        program,
        "earn",
        _("How much of the money paid comes back in points?"),
        program.earn_percent,
        _percents(program.earn_percent, Decimal(10)),
        lambda p: (
            _("%(percent)s %% back in points on every purchase") % {"percent": percent_number(p)}
        ),
    )


def _discount(program: Program, rewards: Sequence[Reward]) -> Question | None:
    """A discount card's percentage, or the top of a growing discount's levels."""
    if program.mode == "discount" and program.discount_percent:
        percent = program.discount_percent
        text = _("What discount does the card give?")
        template = _("%(percent)s %% off every purchase")
    elif program.mode == "accumulating_discount" and program.discount_levels:
        percent = max(level.percent for level in program.discount_levels)
        text = _("Up to what discount does the card grow?")
        template = _("A discount that grows with your purchases, up to %(percent)s %%")
    else:
        return None
    return _question(
        program,
        "discount",
        text,
        percent,
        _percents(percent, Decimal(10)),
        lambda p: template % {"percent": percent_number(p)},
    )


def _point_value(program: Program, rewards: Sequence[Reward]) -> Question | None:
    if program.mode != "points":
        return None
    return _question(
        program,
        "point_value",
        _("What is one point worth?"),
        program.point_value,
        _amounts(program.point_value, (program.point_value // 10, 50, 1000)),
        lambda kopecks: (
            _("1 point = %(money)s off your next receipts") % {"money": rubles_text(kopecks)}
        ),
    )


def _redeem_cap(program: Program, rewards: Sequence[Reward]) -> Question | None:
    if program.mode != "points":
        return None

    def say(percent: Decimal) -> str:
        if not percent:
            return _("Points cannot pay for purchases.")
        return _("Points can pay for up to %(percent)s%% of a receipt.") % {
            "percent": percent_number(percent)
        }

    cap = program.redeem_max_percent
    wrong = [Decimal(100), Decimal(50), *_percents(cap, Decimal(30), Decimal(20))]
    return _question(
        program,
        "redeem_cap",
        _("How much of a receipt can points pay for?"),
        cap,
        [Decimal(0), *wrong] if cap else wrong,
        say,
    )


def _points_life(program: Program, rewards: Sequence[Reward]) -> Question | None:
    """When points can pay and when they burn: the sentences of the cheat-sheet's "How it
    works" (`program_explained`)."""
    if program.mode != "points":
        return None

    def say(days: tuple[int, int]) -> str:
        pending, expiry = days
        available = (
            ngettext(
                "Points earned become available %(days)s day after the purchase.",
                "Points earned become available %(days)s days after the purchase.",
                pending,
            )
            % {"days": pending}
            if pending
            else _("Points earned can pay from the next purchase.")
        )
        valid = ngettext(
            "Points are valid for %(days)s day.", "Points are valid for %(days)s days.", expiry
        ) % {"days": expiry}
        return f"{available} {valid}"

    pending, expiry = program.pending_days, program.expiry_days
    other_expiry = [d for d in (expiry * 2, expiry // 2, 365, 180, 730) if d > 0 and d != expiry]
    other_pending = [d for d in (14, 0, 7) if d != pending]
    wrong = [
        (pending, other_expiry[0]),
        (other_pending[0], expiry),
        (other_pending[1], other_expiry[1]),
        (pending, other_expiry[2]),
    ]
    return _question(
        program,
        "points_life",
        _("Points earned today: when can they pay, and when do they burn?"),
        (pending, expiry),
        wrong,
        say,
    )


def _tobacco(program: Program, rewards: Sequence[Reward]) -> Question:
    right = common_answers(program)["tobacco"][1]
    excluded = ", ".join(sorted(program.excluded_categories))
    wrong = [
        _(
            "The law allows points on tobacco, only not a discount (15-FZ art. 16). Categories "
            "without a discount: %(list)s."
        )
        % {"list": excluded},
        _(
            "Tobacco earns points at half the usual rate, and points can pay for it; discounts do "
            "not apply to it."
        ),
        _(
            "No points are earned on tobacco, but points can pay for it, as for any other purchase "
            "in the store."
        ),
    ]
    return _question(
        program,
        "tobacco",
        _("A member buys cigarettes with the coffee. What about the cigarettes?"),
        right,
        wrong,
        str,
    )


def _reward(program: Program, rewards: Sequence[Reward]) -> Question | None:
    if not rewards:
        return None
    reward, *others = rewards
    return _question(
        program,
        "reward",
        _("How many points does «%(reward)s» cost?") % {"reward": reward.name},
        reward.points_price,
        _amounts(reward.points_price, [r.points_price for r in others]),
        points_text,
    )


def _tier(program: Program, rewards: Sequence[Reward]) -> Question | None:
    """The first tier: the one the cheat-sheet's "What to say" names."""
    if not program.tiers:
        return None
    tier, *others = program.tiers
    return _question(
        program,
        "tier",
        _("From what spend does a member reach «%(tier)s»?") % {"tier": tier.name},
        tier.qualify_spend,
        _amounts(tier.qualify_spend, [t.qualify_spend for t in others]),
        rubles_text,
    )


def _bonus(program: Program, rewards: Sequence[Reward]) -> Question | None:
    """The welcome gift, else the birthday's."""
    welcome, birthday = program.bonuses.welcome, program.bonuses.birthday
    if welcome is not None:
        key, text, points = (
            "welcome",
            _("How many points does a member get for joining?"),
            welcome.points,
        )
    elif birthday is not None:
        key, text = "birthday", _("How many points does a member get for their birthday?")
        points = birthday.points
    else:
        return None
    return _question(program, key, text, points, _amounts(points, (500, 200)), points_text)


# Wrong answers to the cheat-sheet's common questions: what people believe, as long as the
# right one (a short wrong answer gives the long right one away).
MISBELIEFS: Mapping[str, Callable[[], list[str]]] = {
    "returns": lambda: [
        _(
            "Points stay with the member: a return never changes them, and the points paid are not "
            "given back either."
        ),
        _(
            "All the points of the receipt are taken back, even for what the member keeps; the "
            "points paid are lost."
        ),
        _(
            "The points earned are paid out in money with the refund; the points paid are given "
            "back in full."
        ),
    ],
    "stop": lambda: [
        _(
            "Only by a written request to the head office; the cashier cannot help, and the "
            "messages stop in a month."
        ),
        _(
            "The advertising stops only when the card is deleted: the link in a message stops that "
            "one campaign only."
        ),
        _(
            "The cashier switches it off at the till by the member's phone number; there is no "
            "switch in the profile."
        ),
    ],
    "delete": lambda: [
        _(
            "The data cannot be deleted while the card has points: spend them first, then the "
            "account closes by itself."
        ),
        _(
            "The cashier deletes it at the till by the phone number; the points move to a new card "
            "with a new number."
        ),
        _(
            "Only by a letter on paper to the head office; the data are erased within 30 days of "
            "the letter."
        ),
    ],
    "join": lambda: [
        _(
            "Only at the till, with a passport: the cashier fills in a paper form and gives a "
            "plastic card."
        ),
        _("Install the store's app from the app store and register in it with an email address."),
        _("Buy a plastic card at the till for 100 ₽; it works from the next day."),
    ],
    "phone_card": lambda: [
        _(
            "Show a screenshot of the card's QR code: it never changes, so it can be printed or "
            "sent to a friend."
        ),
        _(
            "Only the plastic card works at the till; the phone shows the balance but cannot be "
            "scanned."
        ),
        _(
            "Tell the cashier the SMS code from the login: the cashier types it in instead of "
            "scanning the card."
        ),
    ],
    "lost_phone": lambda: [
        _(
            "The points are lost with the phone: the card is tied to the device, so a new card "
            "starts again from zero."
        ),
        _(
            "Only the points of the last 30 days are kept: a new card is issued, and the older "
            "points burn at once."
        ),
        _(
            "A new card is issued at the till for 100 ₽, and the points move to it within a month, "
            "after a check."
        ),
    ],
}


def _asked(key: str) -> Callable[[Program, Sequence[Reward]], Question]:
    """One of the cheat-sheet's common questions, its answer the right one."""

    def ask(program: Program, rewards: Sequence[Reward]) -> Question:
        question, answer = common_answers(program)[key]
        return _question(program, key, _asks(question), answer, MISBELIEFS[key](), str)

    return ask


# In this order; those after the tenth that applies fill in for what the program has not
# (no rewards, no tiers, no bonuses).
ASKED: tuple[Callable[[Program, Sequence[Reward]], Question | None], ...] = (
    _earn,
    _discount,
    _point_value,
    _redeem_cap,
    _points_life,
    _tobacco,
    _reward,
    _tier,
    _bonus,
    _asked("returns"),
    _asked("stop"),
    _asked("delete"),
    _asked("join"),
    _asked("lost_phone"),
    _asked("phone_card"),
)


def quiz_questions(program: Program, rewards: Sequence[Reward]) -> list[Question]:
    """Ten questions on `program` (eight or nine for a discount card without tiers or bonuses);
    `rewards`: those the printed materials show, cheapest first."""
    questions = [q for ask in ASKED if (q := ask(program, rewards)) is not None]
    return questions[:QUESTIONS]


def quiz_marked(
    questions: Sequence[Question], chosen: Mapping[str, int]
) -> tuple[int, list[dict[str, Any]]]:
    """The score and each answer as recorded: the question, the choice made, the right one."""
    answers: list[dict[str, Any]] = []
    for q in questions:
        index = chosen.get(q.key)
        said = q.choices[index] if index is not None and 0 <= index < len(q.choices) else ""
        answers.append(
            {
                "key": q.key,
                "question": q.text,
                "chosen": said,
                "right": q.right,
                "correct": said == q.right,
            }
        )
    return sum(1 for a in answers if a["correct"]), answers
