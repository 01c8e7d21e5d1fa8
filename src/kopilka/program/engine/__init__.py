"""The one rules engine: pure functions, plain values in and out (no database, settings or clock).

The calculate endpoint, the commit, the cashier screen, the portal's "why", imports and the
what-if simulation all call `quote`; hypothesis throws thousands of receipts at it.
"""

from kopilka.program.engine.arithmetic import line_amount, program_cost
from kopilka.program.engine.effects import Effect, Grant, RuleUse, Spend, TierReached, VoucherUse
from kopilka.program.engine.errors import (
    InsufficientPoints,
    NoMemberToRedeem,
    QuoteError,
    RedeemLimitExceeded,
    VoucherNotApplicable,
)
from kopilka.program.engine.quote import (
    LineQuote,
    Quote,
    Redeem,
    discount_level,
    lot_dates,
    member_tier,
    next_discount_level,
    next_tier,
    quote,
)
from kopilka.program.engine.reasons import Reason
from kopilka.program.engine.values import (
    LAW_EXCLUDED,
    DiscountLevel,
    Limit,
    Line,
    MemberState,
    Program,
    Receipt,
    Rule,
    Then,
    Tier,
    VoucherTerms,
    When,
)

__all__ = [
    "LAW_EXCLUDED",
    "DiscountLevel",
    "Effect",
    "Grant",
    "InsufficientPoints",
    "Limit",
    "Line",
    "LineQuote",
    "MemberState",
    "NoMemberToRedeem",
    "Program",
    "Quote",
    "QuoteError",
    "Reason",
    "Receipt",
    "Redeem",
    "RedeemLimitExceeded",
    "Rule",
    "RuleUse",
    "Spend",
    "Then",
    "Tier",
    "TierReached",
    "VoucherNotApplicable",
    "VoucherTerms",
    "VoucherUse",
    "When",
    "discount_level",
    "line_amount",
    "lot_dates",
    "member_tier",
    "next_discount_level",
    "next_tier",
    "program_cost",
    "quote",
]
