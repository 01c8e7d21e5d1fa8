"""The engine's inputs: plain frozen values, no Django.

Money is integer kopecks, points are integers, percentages are `Decimal` ("5" = 5 %). A
`Program` is one version of the program document (`program/engine/document.py` reads and writes
its JSON); `MemberState` is everything the engine may know about a member, and nothing else.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal

Mode = Literal["points", "discount", "accumulating_discount"]
Combine = Literal["stack", "best", "exclusive"]
Action = Literal["earn", "discount", "redeem"]
ACTIONS: tuple[Action, ...] = ("earn", "discount", "redeem")
MODES: tuple[Mode, ...] = ("points", "discount", "accumulating_discount")
COMBINES: tuple[Combine, ...] = ("stack", "best", "exclusive")
# 15-FZ art. 16: no discounts on tobacco and nicotine products by any means, coupons and points
# included. The default program excludes both from all three actions.
LAW_EXCLUDED: Mapping[str, frozenset[Action]] = {
    "tobacco": frozenset(ACTIONS),
    "nicotine": frozenset(ACTIONS),
}


@dataclass(frozen=True)
class Line:
    sku: str
    name: str
    category: str
    quantity: Decimal  # > 0, may be fractional (0.5 kg)
    price: int  # kopecks per unit, >= 0

    def __post_init__(self) -> None:
        # A float quantity would smuggle binary rounding into money.
        if isinstance(self.quantity, float) or not Decimal(self.quantity).is_finite():
            raise ValueError(f"quantity must be a finite Decimal, got {self.quantity!r}")
        if self.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {self.quantity}")
        if self.price < 0:
            raise ValueError(f"price must not be negative, got {self.price}")


VoucherKind = Literal["free_product", "fixed_discount", "percent_discount", "gift"]


@dataclass(frozen=True)
class VoucherTerms:
    """A voucher the member brought, as its reward defines it (checked as theirs and unused)."""

    code: str
    name: str  # the reward's name: «Бесплатный капучино»
    kind: VoucherKind
    sku: str = ""  # free_product: one unit of this SKU
    category: str = ""  # percent_discount: on this category
    amount: int = 0  # fixed_discount: kopecks off the receipt
    percent: Decimal = Decimal(0)  # percent_discount


@dataclass(frozen=True)
class Receipt:
    """A receipt as the till rang it up: where, when (the store's own clock) and what."""

    store: str  # the store's code
    at: datetime  # aware: the purchase's own time (`purchased_at`, default now)
    time_zone: str  # the store's IANA zone: rules read weekdays and hours in it
    lines: tuple[Line, ...]
    vouchers: tuple[VoucherTerms, ...] = ()


@dataclass(frozen=True)
class MemberState:
    """What the engine knows about a member. Each field has one source (`ledger.state`): a
    column of the member row, compared by the fast path's guard, or rows written only through
    the ledger's applier, which moves the member's `state_version`."""

    member_id: int
    available: int  # points spendable now
    pending: int  # points not yet available
    enrolled_at: datetime | None = None
    spend: int = 0  # cumulative spend after discounts and returns, kopecks
    tier: str = ""  # the code of the member's tier ("" below the first)
    window_spend: int = 0  # spend after discounts and returns in the program's tier window
    day_uses: Mapping[str, int] = field(default_factory=dict)  # rule code -> uses on the day
    month_uses: Mapping[str, int] = field(default_factory=dict)  # ... in the calendar month


@dataclass(frozen=True)
class When:
    """A rule's conditions; None = no condition. Dates are inclusive, `time_to` is exclusive."""

    categories: frozenset[str] | None = None
    skus: frozenset[str] | None = None
    weekdays: frozenset[int] | None = None  # ISO: 1 = Monday
    time_from: time | None = None
    time_to: time | None = None
    date_from: date | None = None
    date_to: date | None = None
    stores: frozenset[str] | None = None
    min_receipt: int | None = None  # kopecks, the receipt's amount before discounts
    enrolled_within_days: int | None = None


@dataclass(frozen=True)
class Then:
    """A rule's effect: exactly one field is set."""

    earn_multiplier: Decimal | None = None  # x the line's earn rate
    earn_percent: Decimal | None = None  # replaces the line's earn rate
    points_per_unit: int | None = None  # fixed points per unit of a matching line
    bonus_points: int | None = None  # fixed points once per receipt
    discount_percent: Decimal | None = None  # discount on matching lines

    @property
    def kind(self) -> str:
        (name,) = [name for name, value in vars(self).items() if value is not None]
        return name


@dataclass(frozen=True)
class Limit:
    per_member_per_day: int | None = None
    per_member_per_month: int | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    then: Then
    when: When = When()
    priority: int = 0
    combine: Combine = "stack"
    limit: Limit = Limit()


@dataclass(frozen=True)
class DiscountLevel:
    from_spend: int  # kopecks of cumulative spend
    percent: Decimal


@dataclass(frozen=True)
class Tier:
    """A level a member reaches by spending `qualify_spend` within the tier window."""

    code: str
    name: str
    qualify_spend: int  # kopecks within the window
    earn_multiplier: Decimal = Decimal(1)  # x every earn rate of the member's lines
    redeem_max_percent: Decimal | None = None  # replaces the program's cap; None: the program's
    discount_percent: Decimal = Decimal(0)  # added to every line that allows discounts
    privileges: tuple[str, ...] = ()  # what staff say and the portal shows: "Кофе без очереди"


@dataclass(frozen=True)
class EventBonus:
    """Points for an event in a member's life with the program (not for a purchase)."""

    points: int
    expiry_days: int | None = None  # None: the program's expiry_days


@dataclass(frozen=True)
class BirthdayBonus(EventBonus):
    days_before: int = 0  # granted this many days before the birthday
    days_after: int = 7  # and still, if missed, up to this many days after it


@dataclass(frozen=True)
class ReferralBonus:
    """Both sides of a referral, granted once the friend's first purchase has stood (not
    returned) for `after_days`."""

    referrer_points: int
    friend_points: int
    after_days: int = 14
    expiry_days: int | None = None


@dataclass(frozen=True)
class EventBonuses:
    welcome: EventBonus | None = None
    birthday: BirthdayBonus | None = None
    profile_completed: EventBonus | None = None
    referral: ReferralBonus | None = None


@dataclass(frozen=True)
class Program:
    """One version of the program. `version` is its id (0: the built-in default, never stored)."""

    mode: Mode = "points"
    name: str = "Копилка"
    point_value: int = 100  # kopecks a point pays
    earn_percent: Decimal = Decimal(5)  # of money paid, given back as point value
    redeem_max_percent: Decimal = Decimal(30)
    pending_days: int = 0
    expiry_days: int = 365
    discount_percent: Decimal = Decimal(0)
    discount_levels: tuple[DiscountLevel, ...] = ()
    excluded_categories: Mapping[str, frozenset[Action]] = field(
        default_factory=lambda: dict(LAW_EXCLUDED)
    )
    rules: tuple[Rule, ...] = ()
    tiers: tuple[Tier, ...] = ()  # by qualify_spend, ascending
    tier_window_days: int = 365
    tier_grace_days: int = 30
    bonuses: EventBonuses = EventBonuses()
    version: int = 0

    def tier(self, code: str) -> Tier | None:
        return next((t for t in self.tiers if t.code == code), None)

    def tier_for(self, spend: int) -> Tier | None:
        """The highest tier a spend within the window qualifies for."""
        reached = [t for t in self.tiers if t.qualify_spend <= spend]
        return reached[-1] if reached else None

    def excluded(self, category: str, action: Action) -> bool:
        return action in self.excluded_categories.get(category, frozenset())
