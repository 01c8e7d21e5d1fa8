"""The rewards catalogue for a member and the exchange of points for a voucher."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from kopilka.api.auth import terminal_of
from kopilka.api.idempotency import IdempotencyKey, require_key
from kopilka.api.schemas import ERRORS
from kopilka.core.idempotency import request_fingerprint, run_idempotent
from kopilka.members.api import MemberId
from kopilka.members.selectors import member_get
from kopilka.rewards.services import Offer, reward_exchange, rewards_for_member

router = Router(tags=["rewards"])


class RewardOut(Schema):
    code: str
    name: str
    kind: str = Field(description="free_product, fixed_discount, percent_discount or gift")
    points_price: int
    valid_days: int = Field(description="How long a voucher lasts after the exchange")
    affordable: bool = Field(description="The member can take it now")
    points_missing: int
    limit_reached: bool
    out_of_stock: bool
    stock: int | None = Field(description="Left in stock; null: unlimited")


def reward_out(offer: Offer) -> RewardOut:
    reward = offer.reward
    return RewardOut(
        code=reward.code,
        name=reward.name,
        kind=reward.kind,
        points_price=reward.points_price,
        valid_days=reward.valid_days,
        affordable=offer.affordable,
        points_missing=offer.points_missing,
        limit_reached=offer.limit_reached,
        out_of_stock=offer.out_of_stock,
        stock=reward.stock,
    )


@router.get(
    "/members/{member_id}/rewards",
    response={200: list[RewardOut], **ERRORS},
    summary="Награды за баллы для участника / The rewards catalogue for a member",
)
def members_rewards(request: HttpRequest, member_id: MemberId) -> list[RewardOut]:
    return [reward_out(offer) for offer in rewards_for_member(member_get(member_id))]


class VoucherOut(Schema):
    code: str = Field(description="Unguessable; the till types or scans it")
    reward: str = Field(description="The reward's code")
    valid_until: datetime


class ExchangeOut(Schema):
    voucher: VoucherOut


@router.post(
    "/members/{member_id}/rewards/{code}/exchange",
    response={201: ExchangeOut, **ERRORS},
    summary="Обмен баллов на награду (идемпотентно) / Exchange points for a reward (idempotent)",
)
def rewards_exchange(
    request: HttpRequest, member_id: MemberId, code: str, idempotency_key: IdempotencyKey = None
) -> Status[dict[str, object]]:
    seller = terminal_of(request).seller
    key = require_key(idempotency_key)

    def work() -> tuple[int, dict[str, object]]:
        voucher = reward_exchange(member_id=member_id, code=code, actor=seller.actor)
        body: dict[str, object] = {
            "voucher": {
                "code": voucher.code,
                "reward": code,
                "valid_until": voucher.valid_until.isoformat(),
            }
        }
        return 201, body

    return Status(
        *run_idempotent(
            scope=seller.idempotency_scope,
            key=key,
            request_hash=request_fingerprint("exchange", member_id, code),
            work=work,
        )
    )
