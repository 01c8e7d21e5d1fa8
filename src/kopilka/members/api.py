"""/api/v1/members: enrol, look up, balance and history (terminal-authenticated)."""

from datetime import date, datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path as PathParam
from ninja import Query, Router, Schema, Status
from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from kopilka.api.auth import terminal_of
from kopilka.api.schemas import (
    ERRORS,
    MAX_ID,
    BalanceOut,
    CardNumber,
    ExpiringOut,
    Phone,
    text,
)
from kopilka.core import clock
from kopilka.core.money import format_rubles
from kopilka.ledger.selectors import (
    member_balance,
    member_transfers,
    transfer_description,
    transfer_reasons,
)
from kopilka.members.models import Member
from kopilka.members.selectors import (
    consents_in_force,
    member_card_number,
    member_find,
    member_get,
)
from kopilka.members.services import ConsentChoices, consents_change, member_enroll
from kopilka.members.tiers import tier_status
from kopilka.program.engine import Reason, discount_level, next_discount_level
from kopilka.program.engine.arithmetic import decimal_text
from kopilka.program.selectors import program_in_force

router = Router(tags=["members"])

# Validated by Django's validate_email below ("" is no email); the schema says so.
Email = Annotated[
    str,
    StringConstraints(max_length=254),
    WithJsonSchema(
        {"type": "string", "maxLength": 254, "anyOf": [{"format": "email"}, {"maxLength": 0}]}
    ),
]
MemberId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def _personal_data_required(schema: dict[str, Any]) -> None:
    schema["required"] = ["personal_data"]
    schema["properties"]["personal_data"].pop("default", None)


class ConsentsIn(Schema):
    # Enrolment needs it (152-FZ): the schema says it is `true`, and false or missing gets the
    # business answer 422 consent_required rather than a generic validation error.
    model_config = ConfigDict(json_schema_extra=_personal_data_required)

    personal_data: Annotated[
        bool,
        WithJsonSchema(
            {
                "type": "boolean",
                "const": True,
                "description": "Согласие на обработку ПДн / "
                "consent to personal-data processing, a document of its own (152-FZ)",
            }
        ),
    ] = False
    sms_marketing: bool = False
    email_marketing: bool = False


class MemberIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            # without consents there is no personal-data consent, so no enrolment
            "required": ["phone", "consents"],
            "examples": [
                {
                    "phone": "+79161234568",
                    "name": "Анна",
                    "email": "anna@example.ru",
                    "consents": {
                        "personal_data": True,
                        "sms_marketing": False,
                        "email_marketing": False,
                    },
                }
            ],
        }
    )

    phone: Phone
    name: text(200) = ""  # type: ignore[valid-type]
    email: Email | None = None
    birth_date: date | None = None
    card_number: CardNumber | None = None
    referrer_code: text(16) | None = Field(  # type: ignore[valid-type]
        None, description="The referral code of the member who invited them"
    )
    consents: ConsentsIn = Field(default_factory=ConsentsIn)

    @field_validator("email")
    @classmethod
    def email_valid(cls, value: str | None) -> str | None:
        if value:
            try:
                validate_email(value)
            except DjangoValidationError as exc:
                raise ValueError(_("Not a valid email address.")) from exc
        return value or None

    @field_validator("birth_date")
    @classmethod
    def birth_date_sane(cls, value: date | None) -> date | None:
        if value is not None and not date(1900, 1, 1) <= value <= date.today():
            raise ValueError(_("A birth date between 1900-01-01 and today."))
        return value


class NextDiscountOut(Schema):
    percent: str
    spend_needed: str = Field(description="Roubles of purchases still needed to reach it")


class DiscountOut(Schema):
    """The member's discount under the program in force (null in a points program)."""

    mode: str = Field(description="discount or accumulating_discount")
    percent: str
    spend: str = Field(description="Purchases so far after discounts and returns, roubles")
    next: NextDiscountOut | None


class NextTierOut(Schema):
    code: str
    name: str
    spend_needed: str = Field(description="Roubles still to spend within the window to reach it")


class KeepTierOut(Schema):
    spend_needed: str = Field(description="Roubles to spend to keep the tier")
    by: date = Field(description="The last day of the grace period")


class TierOut(Schema):
    """The member's tier under the program in force (null when the program has no tiers)."""

    code: str | None = Field(description="null below the first tier")
    name: str | None
    privileges: list[str]
    since: datetime | None
    manual_until: date | None = Field(
        description="A tier set by staff holds through this day (null: earned by spend)"
    )
    spend_in_window: str = Field(
        description="Purchases of the tier window after discounts and returns, roubles"
    )
    window_days: int
    next: NextTierOut | None
    keep: KeepTierOut | None


class MemberOut(Schema):
    id: int
    phone: str
    name: str
    email: str | None
    card_number: str | None
    status: str
    referral_code: str = Field(description="The member's own code to invite friends with")
    tier: TierOut | None = None
    balance: BalanceOut
    discount: DiscountOut | None = None


def tier_out(member: Member) -> TierOut | None:
    program = program_in_force()
    status = tier_status(member, program, clock.now())
    if status is None:
        return None
    tier, ahead = status.tier, status.next
    return TierOut(
        code=tier.code if tier else None,
        name=tier.name if tier else None,
        privileges=list(tier.privileges) if tier else [],
        since=status.since if tier else None,
        manual_until=status.manual_until,
        spend_in_window=format_rubles(status.spend_in_window),
        window_days=program.tier_window_days,
        next=None
        if ahead is None
        else NextTierOut(
            code=ahead.code, name=ahead.name, spend_needed=format_rubles(status.next_spend_needed)
        ),
        keep=None
        if status.keep_by is None
        else KeepTierOut(spend_needed=format_rubles(status.keep_spend_needed), by=status.keep_by),
    )


def discount_out(member: Member) -> DiscountOut | None:
    program = program_in_force()
    if program.mode == "points":
        return None
    spend = member.spend_total
    if program.mode == "discount":
        percent, upcoming = program.discount_percent, None
    else:
        percent, upcoming = discount_level(program, spend), next_discount_level(program, spend)
    return DiscountOut(
        mode=program.mode,
        percent=decimal_text(percent),
        spend=format_rubles(spend),
        next=None
        if upcoming is None
        else NextDiscountOut(
            percent=decimal_text(upcoming.percent),
            spend_needed=format_rubles(upcoming.from_spend - spend),
        ),
    )


class TransactionOut(Schema):
    id: int
    kind: str
    points: int
    created_at: datetime
    purchase_id: int | None
    receipt_number: str | None
    store: str | None
    description: str
    reasons: list[str] = Field(
        description="Item by item, why the points moved (for purchases), in plain words"
    )


def member_out(member: Member) -> MemberOut:
    balance = member_balance(member.pk)
    return MemberOut(
        id=member.pk,
        phone=member.phone,
        name=member.name,
        email=member.email or None,
        card_number=member_card_number(member),
        status=member.status,
        referral_code=member.referral_code,
        balance=BalanceOut(
            available=balance.available,
            pending=balance.pending,
            expiring=[
                ExpiringOut(points=e.points, expires_at=e.expires_at) for e in balance.expiring
            ],
        ),
        discount=discount_out(member),
        tier=tier_out(member),
    )


@router.post(
    "/members",
    response={201: MemberOut, **ERRORS},
    summary="Регистрация участника / Enrol a member",
)
def members_create(request: HttpRequest, body: MemberIn) -> Status[MemberOut]:
    terminal = terminal_of(request)
    member = member_enroll(
        phone=body.phone,
        name=body.name,
        email=body.email or "",
        birth_date=body.birth_date,
        card_number=body.card_number,
        consents=ConsentChoices(**body.consents.model_dump()),
        actor=terminal.actor,
        source=f"terminal:{terminal.store_code}",
        store_id=terminal.store_id,
        referrer_code=body.referrer_code,
    )
    return Status(201, member_out(member))


class LookupQuery(Schema):
    """Exactly one of `phone`, `card` and `qr` (the token of the member's digital card)."""

    phone: Phone | None = None
    card: CardNumber | None = None
    qr: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> "LookupQuery":
        if sum(value is not None for value in (self.phone, self.card, self.qr)) != 1:
            raise ValueError(_("Give exactly one of phone, card and qr."))
        return self


@router.get(
    "/members/lookup",
    response={200: MemberOut, **ERRORS},
    summary="Поиск по телефону, карте или QR-коду / Find a member by phone, card or QR code",
)
def members_lookup(request: HttpRequest, query: Query[LookupQuery]) -> MemberOut:
    return member_out(member_find(phone=query.phone, card=query.card, qr=query.qr))


@router.get(
    "/members/{member_id}",
    response={200: MemberOut, **ERRORS},
    summary="Участник и баланс / A member with the balance",
)
def members_get(request: HttpRequest, member_id: MemberId) -> MemberOut:
    return member_out(member_get(member_id))


class HistoryQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get(
    "/members/{member_id}/transactions",
    response={200: list[TransactionOut], **ERRORS},
    summary="История баллов с причинами / Point history with reasons, newest first",
)
def members_transactions(
    request: HttpRequest, member_id: MemberId, query: Query[HistoryQuery]
) -> list[TransactionOut]:
    member_get(member_id)
    return [
        TransactionOut(
            id=t.pk,
            kind=t.kind,
            points=t.points,
            created_at=t.created_at,
            purchase_id=t.purchase_id,
            receipt_number=t.purchase.receipt_number if t.purchase else None,
            store=t.purchase.store.code if t.purchase else None,
            description=transfer_description(t),
            reasons=transfer_reasons(t),
        )
        for t in member_transfers(member_id, limit=query.limit, offset=query.offset)
    ]


class TierChangeOut(Schema):
    created_at: datetime
    kind: str = Field(description="upgrade, downgrade or manual")
    from_tier: str | None = Field(description="The code before (null: below the first tier)")
    to_tier: str | None
    reason: str = Field(description="Why, in plain words, in the Accept-Language language")
    by: str = Field(description="Who: a terminal, staff or the daily review")


@router.get(
    "/members/{member_id}/tier-changes",
    response={200: list[TierChangeOut], **ERRORS},
    summary="История уровней участника / The member's tier changes, newest first",
)
def members_tier_changes(
    request: HttpRequest, member_id: MemberId, query: Query[HistoryQuery]
) -> list[TierChangeOut]:
    member = member_get(member_id)
    changes = member.tier_changes.order_by("-created_at", "-id")
    return [
        TierChangeOut(
            created_at=c.created_at,
            kind=c.kind,
            from_tier=c.from_tier or None,
            to_tier=c.to_tier or None,
            reason=Reason.from_stored(c.reason).render(),
            by=c.actor_label,
        )
        for c in changes[query.offset : query.offset + query.limit]
    ]


Switch = Annotated[StrictBool | None, WithJsonSchema({"type": "boolean"})]


class ConsentsChange(Schema):
    """The switches to change, each true or false; those left out stay as they are. At least one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"minProperties": 1, "examples": [{"sms_marketing": False}]},
    )

    sms_marketing: Switch = None
    email_marketing: Switch = None
    telegram_marketing: Switch = None
    sms_service: Switch = None
    email_service: Switch = None
    telegram_service: Switch = None

    @model_validator(mode="before")
    @classmethod
    def true_or_false(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if not data:
                raise ValueError(_("Give at least one consent switch."))
            if any(value is None for value in data.values()):
                raise ValueError(_("Each consent switch is true or false."))
        return data


class ConsentsOut(Schema):
    """Every switch as it stands after the change: advertising (`*_marketing`, off unless the
    member agreed) and messages about the account (`*_service`)."""

    sms_marketing: bool
    email_marketing: bool
    telegram_marketing: bool
    sms_service: bool
    email_service: bool
    telegram_service: bool


@router.post(
    "/members/{member_id}/consents",
    response={200: ConsentsOut, **ERRORS},
    summary="Согласия на сообщения / Change a member's message consents",
)
def members_consents(
    request: HttpRequest, member_id: MemberId, body: ConsentsChange
) -> dict[str, bool]:
    terminal = terminal_of(request)
    consents_change(
        member_id=member_id,
        changes=body.model_dump(exclude_none=True),
        source="pos",
        actor=terminal.actor,
    )
    return consents_in_force(member_id)
