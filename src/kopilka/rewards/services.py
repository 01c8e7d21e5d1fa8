"""Exchanging points for a reward: the points through the ledger, a voucher, the stock.

One transaction under the member's lock: the limit is counted and the balance read under it,
the stock is taken by a conditional UPDATE (never below zero, whatever runs at the same moment),
then the ledger spends the points FIFO and the voucher is written with the spending transfer.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import Conflict, DomainError, NotFound
from kopilka.ledger.apply import plan_apply
from kopilka.ledger.plan import plan_reward, points_of
from kopilka.ledger.services import member_lock
from kopilka.ledger.state import open_lots
from kopilka.members.models import Member
from kopilka.program.engine import InsufficientPoints, VoucherUse
from kopilka.rewards.models import Reward, Voucher
from kopilka.rewards.selectors import VoucherUsed


class RewardNotFound(NotFound):
    code = "reward_not_found"


class RewardOutOfStock(Conflict):
    code = "reward_out_of_stock"


class RewardLimitReached(Conflict):
    code = "reward_limit_reached"


class RewardNotAvailable(DomainError):
    code = "reward_not_available"


@dataclass(frozen=True)
class Offer:
    """A reward as one member sees it now."""

    reward: Reward
    available_points: int
    taken: int  # vouchers this member already has of it

    @property
    def points_missing(self) -> int:
        return max(0, self.reward.points_price - self.available_points)

    @property
    def limit_reached(self) -> bool:
        limit = self.reward.per_member_limit
        return limit is not None and self.taken >= limit

    @property
    def out_of_stock(self) -> bool:
        return self.reward.stock is not None and self.reward.stock <= 0

    @property
    def affordable(self) -> bool:
        return not (self.points_missing or self.limit_reached or self.out_of_stock)


def _open_to(reward: Reward, member: Member, day: date) -> bool:
    """Active on `day` and allowed for the member's tier."""
    if reward.active_from is not None and day < reward.active_from:
        return False
    if reward.active_until is not None and day > reward.active_until:
        return False
    return not reward.tiers or member.tier_code in reward.tiers


def rewards_for_member(member: Member, at: datetime | None = None) -> list[Offer]:
    """The catalogue open to the member today, cheapest first, with what stands in the way."""
    at = at or clock.now()
    day = clock.business_date(at)
    available, _pending = points_of(open_lots(member.pk), at)
    taken: dict[int, int] = {}
    for reward_id in Voucher.objects.filter(member=member).values_list("reward_id", flat=True):
        taken[reward_id] = taken.get(reward_id, 0) + 1
    return [
        Offer(reward, available, taken.get(reward.pk, 0))
        for reward in Reward.objects.all()
        if _open_to(reward, member, day)
    ]


_TAKE_ONE_SQL = (
    f"UPDATE {Reward._meta.db_table} SET stock = stock - 1 "
    "WHERE id = %s AND (stock IS NULL OR stock > 0) RETURNING id"
)


@transaction.atomic
def reward_exchange(*, member_id: int, code: str, actor: Actor) -> Voucher:
    """Spend the reward's points and issue its voucher, or refuse with a reason and change
    nothing (not found, not open to the member, limit reached, out of stock, too few points)."""
    member = member_lock(member_id)
    reward = Reward.objects.filter(code=code).first()
    if reward is None:
        raise RewardNotFound(_("No reward with this code."))
    now = clock.now()
    if not _open_to(reward, member, clock.business_date(now)):
        raise RewardNotAvailable(_("This reward is not available to this member today."))
    taken = Voucher.objects.filter(member=member, reward=reward).count()
    if reward.per_member_limit is not None and taken >= reward.per_member_limit:
        raise RewardLimitReached(
            _("This member has already taken this reward as many times as it allows.")
        )
    lots = open_lots(member.pk)
    available, _pending = points_of(lots, now)
    if available < reward.points_price:
        raise InsufficientPoints(
            f"Only {available} points are available, {reward.points_price} needed.",
            available=available,
            requested=reward.points_price,
        )
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_ONE_SQL, [reward.pk])
        if cursor.fetchone() is None:
            raise RewardOutOfStock(_("This reward is out of stock."))
    plan = plan_reward(
        member_id=member.pk,
        points=reward.points_price,
        reason=reward.name,
        lots=lots,
        at=now,
        actor_label=actor.label,
    )
    (transfer_id,) = plan_apply(plan)
    voucher = Voucher.objects.create(
        reward=reward,
        member=member,
        transfer_id=transfer_id,
        issued_at=now,
        valid_until=clock.start_of_business_day(
            clock.business_date(now) + timedelta(days=reward.valid_days + 1)
        ),
    )
    audit_record(
        actor=actor,
        action="reward.exchange",
        target_type="voucher",
        target_id=voucher.pk,
        member_id=member.pk,
        data={"reward": reward.code, "points": reward.points_price, "transfer_id": transfer_id},
    )
    return voucher


def vouchers_use(uses: Sequence[VoucherUse], purchase_id: int, at: datetime) -> None:
    """Mark the vouchers used by the purchase, each once, with what it took off: a voucher
    another till used a moment earlier (its row changed since it was read) refuses the whole
    purchase."""
    for use in uses:
        code = use.code
        used = Voucher.objects.filter(code=code, used_at__isnull=True, valid_until__gt=at).update(
            used_at=at, purchase_id=purchase_id, discount=use.discount
        )
        if not used:
            raise VoucherUsed(
                _("Voucher %(code)s is already used.") % {"code": code}, fields={"vouchers": code}
            )


def vouchers_give_back(purchase_id: int, at: datetime) -> int:
    """A purchase returned in full gives back its vouchers that are still valid."""
    return Voucher.objects.filter(purchase_id=purchase_id, valid_until__gt=at).update(
        used_at=None, purchase_id=None, discount=0
    )
