"""Example receipts for the marketer console's live preview: what a member would get under a
draft program, beside what the version in force gives for the same receipt.

The examples come from the draft itself: a plain receipt of 1,000 ₽, the same receipt at each
tier (or accumulating-discount level), one receipt that meets each rule's conditions (its
category or SKU, weekday, hour, store, minimum amount, a new member), and one of an excluded
category. Each is priced by the one engine (`engine.quote`), nothing is estimated here. The
console's page and the staff API's preview (`staff.api`) both show these.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kopilka.core.money import points_text, rubles_text
from kopilka.pos.models import PurchaseLine
from kopilka.pos.models import Store as StoreRow
from kopilka.pos.stores import StoreRef as Store
from kopilka.program import engine
from kopilka.program.engine import Line, MemberState, Program, Receipt, Rule

RECENT_LINES = 2000  # the product names examples borrow, from the latest sales
PLAIN_AMOUNT = 1000_00  # kopecks: «чек на 1 000 ₽»
AFTERNOON = time(15, 0)  # a plain receipt's hour: outside the usual morning and evening offers
RULE_EXAMPLES = 5
LONG_AGO = timedelta(days=400)  # a member past every "enrolled within N days" offer
ENOUGH_POINTS = 10**6  # the example member can pay as much as the cap lets
# Reasons about the example member's own balance and progress, not about the program.
MEMBER_OWN = frozenset({"balance_after", "tier_reached", "tier_next", "redeem_cap"})


@dataclass(frozen=True)
class Example:
    label: str
    receipt: Receipt
    member: MemberState


@dataclass(frozen=True)
class Figures:
    discount: int  # kopecks
    earn_points: int
    max_redeemable: int  # points the member may pay with on this receipt
    payable: int  # kopecks, paying no points


@dataclass(frozen=True)
class Outcome:
    label: str
    amount: int  # kopecks
    draft: Figures
    live: Figures
    reasons: tuple[str, ...]  # the draft's, as the member would read them
    point_value: int  # the draft's, kopecks

    @property
    def changed(self) -> bool:
        return self.draft != self.live

    @property
    def summary(self) -> str:
        """«50 баллов, скидка 30 ₽»: what the draft gives, read after the example's label."""
        return _said(self.draft)

    @property
    def before(self) -> str:
        return _said(self.live)

    @property
    def redeem(self) -> str:
        return _("points can pay %(money)s") % {
            "money": rubles_text(self.draft.max_redeemable * self.point_value)
        }


def _said(figures: Figures) -> str:
    parts = [points_text(figures.earn_points)]
    if figures.discount:
        parts.append(_("discount %(money)s") % {"money": rubles_text(figures.discount)})
    return ", ".join(parts)


def _figures(quoted: engine.Quote) -> Figures:
    return Figures(quoted.discount, quoted.earn_points, quoted.max_redeemable, quoted.payable)


def _moment(
    now: datetime, zone: str, weekday: int | None, hour: time, since: date | None
) -> datetime:
    """The first moment from today (or `since`) on the given ISO weekday at `hour`, store time."""
    tz = ZoneInfo(zone)
    day = max(now.astimezone(tz).date(), since or date.min)
    if weekday is not None:
        day += timedelta(days=(weekday - day.isoweekday()) % 7)
    return datetime.combine(day, hour, tzinfo=tz)


def example_member(at: datetime, **state: object) -> MemberState:
    """A member enrolled long ago (past any new-member offer) with points to spend."""
    fields: dict[str, object] = {
        "member_id": 0,
        "available": ENOUGH_POINTS,
        "pending": 0,
        "enrolled_at": at - LONG_AGO,
        **state,
    }
    return MemberState(**fields)  # type: ignore[arg-type]


def _receipt(store: Store, at: datetime, *lines: Line) -> Receipt:
    return Receipt(store=store.code, at=at, time_zone=store.time_zone, lines=tuple(lines))


def _goods(amount: int = PLAIN_AMOUNT) -> Line:
    return Line("example", _("Goods"), "", Decimal(1), amount)


def _plain(program: Program, store: Store, now: datetime) -> list[Example]:
    at = _moment(now, store.time_zone, None, AFTERNOON, None)
    receipt = _receipt(store, at, _goods())
    label = _("Receipt of %(money)s") % {"money": rubles_text(PLAIN_AMOUNT)}
    examples = [Example(label, receipt, example_member(at))]
    for tier in program.tiers:
        member = example_member(at, tier=tier.code, window_spend=tier.qualify_spend)
        examples.append(Example(_("The same at %(tier)s") % {"tier": tier.name}, receipt, member))
    if program.mode == "accumulating_discount":
        for level in program.discount_levels:
            if level.from_spend:
                member = example_member(at, spend=level.from_spend)
                label = _("The same after %(money)s of purchases") % {
                    "money": rubles_text(level.from_spend)
                }
                examples.append(Example(label, receipt, member))
    return examples


def _rule_example(
    rule: Rule,
    stores: Mapping[str, Store],
    default: Store,
    products: Mapping[str, str],
    now: datetime,
) -> Example | None:
    """A receipt that meets every condition of `rule`, or None when its period is over."""
    when = rule.when
    store = next((stores[c] for c in sorted(when.stores or ()) if c in stores), default)
    weekday = min(when.weekdays) if when.weekdays else None
    at = _moment(now, store.time_zone, weekday, when.time_from or AFTERNOON, when.date_from)
    if when.date_to is not None and at.date() > when.date_to:
        return None
    category = min(when.categories) if when.categories else ""
    sku = min(when.skus) if when.skus else "example"
    name = products.get(sku) or products.get(category) or category or sku
    amount = max(PLAIN_AMOUNT, when.min_receipt or 0)
    lines = [Line(sku, name, category, Decimal(1), amount)]
    enrolled = at - timedelta(days=1) if when.enrolled_within_days is not None else at - LONG_AGO
    where = [name, date_format(at, "D H:i")]
    if when.stores:
        where.append(store.code)
    label = f"«{rule.name}»: {', '.join(where)}, {rubles_text(amount)}"
    return Example(label, _receipt(store, at, *lines), example_member(at, enrolled_at=enrolled))


def _excluded(program: Program, store: Store, now: datetime) -> list[Example]:
    categories = sorted(c for c, actions in program.excluded_categories.items() if actions)
    if not categories:
        return []
    at = _moment(now, store.time_zone, None, AFTERNOON, None)
    category = "tobacco" if "tobacco" in categories else categories[0]
    line = Line("excluded", category, category, Decimal(1), PLAIN_AMOUNT)
    label = _("%(category)s for %(money)s") % {
        "category": category,
        "money": rubles_text(PLAIN_AMOUNT),
    }
    return [Example(label, _receipt(store, at, line), example_member(at))]


def examples(
    program: Program, stores: list[Store], products: Mapping[str, str], now: datetime
) -> list[Example]:
    """The receipts the preview prices. `stores` (at least one) by code; `products`: a name
    per SKU or category, as recently sold, so that examples read like the shop's receipts."""
    default = stores[0]
    by_code = {store.code: store for store in stores}
    found = _plain(program, default, now)
    ordered = sorted(program.rules, key=lambda rule: (-rule.priority, rule.code))
    for rule in ordered[:RULE_EXAMPLES]:
        example = _rule_example(rule, by_code, default, products, now)
        if example is not None:
            found.append(example)
    return found + _excluded(program, default, now)


def outcome(example: Example, draft: Program, live: Program) -> Outcome:
    """One example priced under the draft and under the version in force."""
    quoted = engine.quote(example.receipt, example.member, draft)
    before = engine.quote(example.receipt, example.member, live, explain=False)
    said = [r for line in quoted.lines for r in line.reasons] + list(quoted.reasons)
    reasons = [r.render(None) for r in said if r.code not in MEMBER_OWN]
    return Outcome(
        example.label,
        quoted.amount,
        _figures(quoted),
        _figures(before),
        tuple(dict.fromkeys(reasons)),
        draft.point_value,
    )


def example_quotes(
    draft: Program,
    live: Program,
    *,
    stores: list[Store],
    products: Mapping[str, str],
    now: datetime,
) -> list[Outcome]:
    """Each of the draft's examples priced under the draft and under the version in force."""
    return [outcome(example, draft, live) for example in examples(draft, stores, products, now)]


def shop_stores() -> list[Store]:
    """The stores the examples are rung up in (one made-up store before the first is set up)."""
    found = [Store(s.pk, s.code, s.time_zone) for s in StoreRow.objects.order_by("code")]
    return found or [Store(0, "store", settings.TIME_ZONE)]


def product_names() -> dict[str, str]:
    """A product name per SKU and per category, from the latest sales."""
    names: dict[str, str] = {}
    recent = PurchaseLine.objects.order_by("-id").values_list("sku", "name", "category")
    for sku, name, category in recent[:RECENT_LINES]:
        if name:
            names.setdefault(sku, name)
            if category:
                names.setdefault(category, name)
    return names
