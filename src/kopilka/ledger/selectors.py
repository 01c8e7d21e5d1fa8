"""Reads of the ledger: balances with what expires when, and the history with a reason for each line."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopilka.core import clock
from kopilka.ledger.models import PointLot, Transfer
from kopilka.ledger.plan import points_of
from kopilka.ledger.state import open_lots
from kopilka.program.engine import Reason


@dataclass(frozen=True)
class Expiring:
    points: int
    expires_at: datetime


@dataclass(frozen=True)
class Balance:
    available: int
    pending: int
    expiring: list[Expiring]


def member_points(member_id: int, at: datetime) -> tuple[int, int]:
    """(available, pending) points at `at` (`ledger.plan.points_of` over the open lots)."""
    return points_of(open_lots(member_id), at)


def member_balance(
    member_id: int, at: datetime | None = None, *, expiring_limit: int = 12
) -> Balance:
    at = at or clock.now()
    available, pending = member_points(member_id, at)
    live = PointLot.objects.filter(member_id=member_id, remaining__gt=0, expires_at__gt=at)
    # Lots expire at business-day boundaries, so grouping by the timestamp groups by day.
    expiring = [
        Expiring(points=int(row["points"]), expires_at=row["expires_at"])
        for row in live.values("expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("expires_at")[:expiring_limit]
    ]
    return Balance(available=available, pending=pending, expiring=expiring)


def transfer_description(transfer: Transfer) -> str:
    """A plain-language sentence for one line of the member's history."""
    purchase = transfer.purchase
    receipt = purchase.receipt_number if purchase else ""
    store = purchase.store.name if purchase else ""
    points = abs(transfer.points)
    params = {"points": points, "receipt": receipt, "store": store, "reason": transfer.reason}
    if transfer.kind == Transfer.Kind.EARN:
        text = ngettext(
            "%(points)d point earned for receipt %(receipt)s in %(store)s.",
            "%(points)d points earned for receipt %(receipt)s in %(store)s.",
            points,
        )
    elif transfer.kind == Transfer.Kind.REDEEM:
        text = ngettext(
            "%(points)d point paid for part of receipt %(receipt)s in %(store)s.",
            "%(points)d points paid for part of receipt %(receipt)s in %(store)s.",
            points,
        )
    elif transfer.kind == Transfer.Kind.RETURN:
        if transfer.points >= 0:
            text = _("Goods from receipt %(receipt)s returned: %(points)d points came back to you.")
        else:
            text = _(
                "Goods from receipt %(receipt)s returned: %(points)d points earned on them were taken back."
            )
    elif transfer.kind == Transfer.Kind.EXPIRE:
        text = ngettext(
            "%(points)d point expired: it was not used in time.",
            "%(points)d points expired: they were not used in time.",
            points,
        )
    elif transfer.kind == Transfer.Kind.BONUS:
        text = _bonus_text(transfer.reason, points)
    elif transfer.kind == Transfer.Kind.REWARD:
        text = ngettext(
            "%(points)d point exchanged for «%(reason)s».",
            "%(points)d points exchanged for «%(reason)s».",
            points,
        )
    else:
        text = _("Adjustment by staff: %(reason)s")
    return text % params


def _bonus_text(kind: str, points: int) -> str:
    texts = {
        "welcome": ngettext("%(points)d welcome point.", "%(points)d welcome points.", points),
        "birthday": ngettext(
            "%(points)d point for your birthday.", "%(points)d points for your birthday.", points
        ),
        "profile_completed": ngettext(
            "%(points)d point for completing your profile.",
            "%(points)d points for completing your profile.",
            points,
        ),
        "referrer": ngettext(
            "%(points)d point: a friend you invited made a purchase.",
            "%(points)d points: a friend you invited made a purchase.",
            points,
        ),
        "friend": ngettext(
            "%(points)d point for joining by invitation.",
            "%(points)d points for joining by invitation.",
            points,
        ),
    }
    return texts.get(kind, ngettext("%(points)d bonus point.", "%(points)d bonus points.", points))


# Which stored line reasons explain which kind of transfer.
_LINE_REASONS = {
    Transfer.Kind.EARN: ("line_earn", "excluded"),
    Transfer.Kind.REDEEM: ("line_redeem",),
}


def transfer_reasons(transfer: Transfer) -> list[str]:
    """Why a purchase's transfer moved what it did, item by item, from the reasons stored with
    the purchase: worded now, in the reader's language, from the figures of that day."""
    codes = _LINE_REASONS.get(Transfer.Kind(transfer.kind), ())
    if transfer.purchase is None or not codes:
        return []
    return [
        f"{line.name or line.sku}: {Reason.from_stored(stored).render()}"
        for line in transfer.purchase.lines.all()
        for stored in line.reasons
        if stored.get("code") in codes
    ]


def member_transfers(member_id: int, *, limit: int = 50, offset: int = 0) -> list[Transfer]:
    transfers = (
        Transfer.objects.filter(member_id=member_id)
        .select_related("purchase", "purchase__store")
        .prefetch_related("purchase__lines")
    )
    return list(transfers.order_by("-created_at", "-id")[offset : offset + limit])
