"""What a quote asks the ledger to do: the engine's only output besides figures and reasons.

`ledger.plan` turns effects into rows (FIFO spending, lots, postings); the engine never knows
about lots. Later issues add voucher uses and messages here.
"""

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Grant:
    """Points earned: available from `available_at`, valid until `expires_at`."""

    points: int
    available_at: datetime
    expires_at: datetime
    rule: str | None = None  # None: the program's own earning on the lines


@dataclass(frozen=True)
class Spend:
    """Points the member pays with (the ledger takes them FIFO by expiry)."""

    points: int


@dataclass(frozen=True)
class RuleUse:
    """A rule applied once for the member, counted against its per-day and per-month limits."""

    rule: str
    day: date  # the receipt's day in the store's time zone


@dataclass(frozen=True)
class TierReached:
    """The purchase takes the member's spend in the tier window to a higher tier."""

    tier: str  # its code
    name: str
    previous: str  # the code of the tier before ("" below the first)
    spend: int  # the window's spend with this purchase, kopecks
    qualify_spend: int  # the tier's threshold, kopecks
    window_days: int


@dataclass(frozen=True)
class VoucherUse:
    """A voucher the receipt uses up (the commit marks it used, once), and the kopecks it took
    off the receipt (0 for a gift)."""

    code: str
    discount: int = 0


Effect = Grant | Spend | RuleUse | TierReached | VoucherUse
