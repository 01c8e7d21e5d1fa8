"""What people read about the figures: names, units and advice, Russian first via gettext."""

from dataclasses import dataclass
from typing import Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Unit = Literal["count", "money", "share", "ratio", "points"]


@dataclass(frozen=True)
class Kpi:
    key: str
    label: Promise
    unit: Unit
    help: Promise


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "revenue",
        _("Revenue"),
        "money",
        _("Receipt totals after discounts, before points, less returns."),
    ),
    Kpi(
        "member_revenue_share",
        _("Share of revenue from members"),
        "share",
        _("How much of the revenue came from receipts with a card."),
    ),
    Kpi("active_members", _("Active members"), "count", _("Members with at least one receipt.")),
    Kpi("members_enrolled", _("New members"), "count", _("Members who joined in the period.")),
    Kpi(
        "repeat_rate",
        _("Repeat purchase rate"),
        "share",
        _("Share of active members who bought two or more times."),
    ),
    Kpi(
        "purchase_frequency",
        _("Purchase frequency"),
        "ratio",
        _("Receipts per active member."),
    ),
    Kpi("avg_receipt_member", _("Average receipt, members"), "money", _("With a card.")),
    Kpi("avg_receipt_guest", _("Average receipt, guests"), "money", _("Without a card.")),
    Kpi("points_earned", _("Points earned"), "points", _("Less points taken back by returns.")),
    Kpi("points_redeemed", _("Points redeemed"), "points", _("Less points refunded by returns.")),
    Kpi(
        "redemption_rate",
        _("Redemption rate"),
        "share",
        _("Points redeemed as a share of points earned."),
    ),
    Kpi(
        "breakage_rate",
        _("Breakage"),
        "share",
        _("Expired points as a share of points that expired or were redeemed."),
    ),
    Kpi(
        "liability_money",
        _("Points liability"),
        "money",
        _("What the points members hold at the end of the period would pay."),
    ),
    Kpi(
        "discounts",
        _("Discounts given"),
        "money",
        _("The program's discounts on receipts (its mode's, its rules', vouchers'), less returns."),
    ),
    Kpi(
        "rewards_cost",
        _("Rewards cost"),
        "money",
        _("What the rewards handed out for vouchers cost the business (free coffee: its cost)."),
    ),
    Kpi(
        "program_cost",
        _("Program cost"),
        "money",
        _(
            "Points redeemed at their value, plus discounts other than vouchers', plus what the "
            "rewards handed out for vouchers cost."
        ),
    ),
    Kpi(
        "program_cost_share",
        _("Program cost, share of revenue"),
        "share",
        _("Program cost divided by revenue."),
    ),
    Kpi(
        "roi",
        _("Simple ROI"),
        "ratio",
        _(
            "Extra revenue of member receipts over the guest average, times the gross margin, "
            "less the cost, over the cost. An upper bound: campaigns with a control group "
            "measure the program honestly."
        ),
    ),
)

SEGMENTS: dict[str, tuple[Promise, Promise]] = {
    "champions": (
        _("Champions"),
        _("Bought recently, buy often. Thank them; ask for reviews; early access to new items."),
    ),
    "loyal": (_("Loyal"), _("Buy often. Offer the next tier, personal recommendations.")),
    "potential_loyalists": (
        _("Potential loyalists"),
        _("Recent, a few purchases. Remind them of points and what they are close to."),
    ),
    "new": (_("New"), _("First purchase just now. Welcome message, explain the points.")),
    "promising": (
        _("Promising"),
        _("Recent but only once. A reason to come back within a few weeks."),
    ),
    "need_attention": (
        _("Need attention"),
        _("Average on everything. A limited-time offer before they slip."),
    ),
    "about_to_sleep": (
        _("About to sleep"),
        _("Below average and fading. Remind them of the points they hold."),
    ),
    "at_risk": (
        _("At risk"),
        _("Bought often, but long ago. Win them back with a personal message."),
    ),
    "cant_lose": (
        _("Can't lose"),
        _("Were among the best, gone quiet. Call or write personally; ask what happened."),
    ),
    "hibernating": (
        _("Hibernating"),
        _("Long ago and rarely. Include only in broad, cheap campaigns."),
    ),
}
