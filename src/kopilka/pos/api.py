"""/api/v1/receipts and /api/v1/purchases: what a till calls."""

from datetime import UTC
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Path as PathParam
from ninja import Router, Schema, Status
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

from kopilka.api.auth import terminal_of
from kopilka.api.idempotency import IdempotencyKey, require_key
from kopilka.api.responses import json_response
from kopilka.api.schemas import (
    ERRORS,
    MAX_ID,
    CardNumber,
    Id,
    MoneyStr,
    Phone,
    Points,
    QuantityStr,
    text,
)
from kopilka.core.idempotency import request_fingerprint, run_idempotent
from kopilka.core.money import format_rubles, parse_rubles
from kopilka.pos import services
from kopilka.pos.models import Purchase
from kopilka.program import engine

router = Router(tags=["receipts"])


class LineIn(BaseModel):
    sku: text(64, required=True)  # type: ignore[valid-type]
    name: text(200) = ""  # type: ignore[valid-type]
    category: text(100) = ""  # type: ignore[valid-type]
    quantity: QuantityStr = "1"
    price: MoneyStr

    def to_domain(self) -> engine.Line:
        return engine.Line(
            sku=self.sku,
            name=self.name,
            category=self.category,
            quantity=Decimal(self.quantity),
            price=parse_rubles(self.price),
        )


# "At most one of member_id, card_number, phone" in JSON Schema: no two of them both given
# (present and not null), as one_member_reference checks.
_TWO_MEMBER_REFERENCES = [
    {"required": [a, b], "properties": {a: {"not": {"type": "null"}}, b: {"not": {"type": "null"}}}}
    for a, b in (("member_id", "card_number"), ("member_id", "phone"), ("card_number", "phone"))
]


def _receipt_schema(**example: object) -> dict[str, Any]:
    """The member reference rule and a whole example (the docs show it, Schemathesis sends it)."""
    return {
        "not": {"anyOf": _TWO_MEMBER_REFERENCES},
        "examples": [
            {
                "phone": "+79161234567",
                "store": "central",
                "lines": [
                    {
                        "sku": "CAP",
                        "name": "Капучино",
                        "category": "coffee",
                        "quantity": "2",
                        "price": "250.00",
                    }
                ],
                **example,
            }
        ],
    }


class ReceiptBody(BaseModel):
    """A receipt. The member is named by at most one of `member_id`, `card_number`, `phone`
    (none: a guest, who earns nothing and cannot redeem)."""

    # Request bodies are plain pydantic models: ninja.Schema's hook for reading Django objects
    # costs 40 µs a purchase and a body is never one.
    model_config = ConfigDict(json_schema_extra=_receipt_schema(redeem_points="max"))

    member_id: Id | None = None
    card_number: CardNumber | None = None
    phone: Phone | None = None
    store: text(32, required=True)  # type: ignore[valid-type]
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    redeem_points: Points | Literal["max"] = Field(
        0, description='Points to pay with: a whole number, or "max" for as many as allowed.'
    )
    purchased_at: AwareDatetime | None = Field(
        None,
        description="The receipt's own time, ISO 8601 with offset (default now): at most 5 "
        "minutes ahead, at most 30 days back (a till that was offline). Rules are evaluated "
        "at this time in the store's time zone.",
    )
    vouchers: list[text(32, required=True)] = Field(  # type: ignore[valid-type]
        default_factory=list,
        max_length=10,
        description="Codes of the member's vouchers to use on this receipt (a member is required)",
    )

    @field_validator("redeem_points", mode="wrap")
    @classmethod
    def points_or_max(cls, value: object, handler: ValidatorFunctionWrapHandler) -> int | str:
        """One message for the field, not one per member of the union (int, "max")."""
        try:
            result: int | str = handler(value)
        except ValidationError as exc:
            raise ValueError(_('A whole number of points from 0, or "max".')) from exc
        return result

    @model_validator(mode="after")
    def one_member_reference(self) -> "ReceiptBody":
        given = [
            name
            for name in ("member_id", "card_number", "phone")
            if getattr(self, name) not in (None, "")
        ]
        if len(given) > 1:
            raise ValueError(_("Give at most one of member_id, card_number, phone."))
        return self

    def to_domain(self, receipt_number: str = "") -> services.ReceiptIn:
        return services.ReceiptIn(
            member=services.MemberRef(
                member_id=self.member_id, card_number=self.card_number, phone=self.phone
            ),
            store=self.store,
            lines=tuple(line.to_domain() for line in self.lines),
            redeem=self.redeem_points,
            receipt_number=receipt_number,
            purchased_at=self.purchased_at.astimezone(UTC) if self.purchased_at else None,
            vouchers=tuple(code.strip().upper() for code in self.vouchers),
        )


class PurchaseBody(ReceiptBody):
    """A receipt to record, with its number in the store. The member is named by at most one of
    `member_id`, `card_number`, `phone` (none: a guest, who earns nothing and cannot redeem)."""

    model_config = ConfigDict(
        json_schema_extra=_receipt_schema(receipt_number="A-1001", redeem_points=0)
    )

    receipt_number: text(64, required=True)  # type: ignore[valid-type]


# The answers are TypedDicts: the one definition of their shape, read by the OpenAPI schema and
# checked by mypy where `quote_json` builds them, at no cost per request (a commit renders its
# answer before its one write; pydantic models would cost 10 µs a line).
class LineOut(TypedDict):
    sku: str
    amount: str
    discount: Annotated[
        str, Field(description="Money off the line; the price after discount is amount - discount")
    ]
    redeem_points: int
    payable: str
    earn_points: int
    rules: Annotated[list[str], Field(description="Codes of the program rules that shaped it")]
    reasons: Annotated[list[str], Field(description="Each figure of the line in plain words")]


class TotalsOut(TypedDict):
    amount: str
    discount: str
    redeem_points: int
    payable: str
    earn_points: int


class BalanceAfterOut(TypedDict):
    available: int
    pending: int


class QuoteOut(TypedDict):
    member_id: int | None
    program_version: Annotated[
        int, Field(description="The program version that priced the receipt (0: built-in)")
    ]
    lines: list[LineOut]
    totals: TotalsOut
    max_redeemable: int
    point_value: Annotated[str, Field(description="Roubles one point pays")]
    balance_after: BalanceAfterOut | None
    explanation: list[str]


DateTimeText = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class PurchaseOut(QuoteOut):
    id: int
    receipt_number: str
    created_at: DateTimeText
    purchased_at: DateTimeText


def quote_json(result: services.QuoteResult) -> QuoteOut:
    """The quote as QuoteOut says, built by hand: the commit renders it before its one write."""
    quote = result.quote
    language = get_language()
    return {
        "member_id": result.member_id,
        "program_version": quote.program_version,
        "lines": [
            {
                "sku": line.sku,
                "amount": format_rubles(line.amount),
                "discount": format_rubles(line.discount),
                "redeem_points": line.redeem_points,
                "payable": format_rubles(line.payable),
                "earn_points": line.earn_points,
                "rules": list(line.rules),
                "reasons": [reason.render(language) for reason in line.reasons],
            }
            for line in quote.lines
        ],
        "totals": {
            "amount": format_rubles(quote.amount),
            "discount": format_rubles(quote.discount),
            "redeem_points": quote.redeem_points,
            "payable": format_rubles(quote.payable),
            "earn_points": quote.earn_points,
        },
        "max_redeemable": quote.max_redeemable,
        "point_value": format_rubles(quote.point_value),
        "balance_after": (
            {"available": quote.available_after, "pending": quote.pending_after}
            if result.member_id is not None
            else None
        ),
        "explanation": quote.explanation(language),
    }


def purchase_json(purchase: Purchase, result: services.QuoteResult) -> PurchaseOut:
    assert purchase.purchased_at is not None
    return {
        "id": purchase.pk,
        "receipt_number": purchase.receipt_number,
        "created_at": purchase.created_at.isoformat(),
        "purchased_at": purchase.purchased_at.isoformat(),
        **quote_json(result),
    }


@router.post(
    "/receipts/calculate",
    response={200: QuoteOut, **ERRORS},
    summary="Расчёт чека без записи / Dry run: points for a receipt",
)
def receipts_calculate(request: HttpRequest, body: ReceiptBody) -> QuoteOut:
    return quote_json(
        services.receipt_quote(seller=terminal_of(request).seller, receipt=body.to_domain())
    )


@router.post(
    "/purchases",
    response={201: PurchaseOut, **ERRORS},
    summary="Проведение чека (идемпотентно) / Commit a purchase (idempotent)",
)
def purchases_commit(
    request: HttpRequest, body: PurchaseBody, idempotency_key: IdempotencyKey = None
) -> HttpResponse:
    return json_response(
        *services.purchase_commit_once(
            seller=terminal_of(request).seller,
            receipt=body.to_domain(body.receipt_number),
            key=require_key(idempotency_key),
            request_hash=request_fingerprint("purchase", body.model_dump(mode="json")),
            render=purchase_json,
        )
    )


class ReturnLineIn(Schema):
    sku: text(64, required=True)  # type: ignore[valid-type]
    quantity: QuantityStr = "1"


class ReturnBody(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"lines": [{"sku": "CAP", "quantity": "1"}]}]}
    )

    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)


class ReturnLineOut(Schema):
    sku: str
    quantity: str
    amount: str
    earn_points_reversed: int
    redeem_points_refunded: int


class ReturnOut(Schema):
    id: int
    purchase_id: int
    amount: str
    earn_points_reversed: int
    redeem_points_refunded: int
    points_not_recovered: int
    lines: list[ReturnLineOut]


@router.post(
    "/purchases/{purchase_id}/returns",
    response={201: ReturnOut, **ERRORS},
    summary="Возврат: баллы пропорционально (идемпотентно) / Return goods: points in proportion (idempotent)",
)
def purchases_return(
    request: HttpRequest,
    purchase_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    body: ReturnBody,
    idempotency_key: IdempotencyKey = None,
) -> Status[dict[str, object]]:
    seller = terminal_of(request).seller
    key = require_key(idempotency_key)

    def work() -> tuple[int, dict[str, object]]:
        record = services.purchase_return(
            seller=seller,
            purchase_id=purchase_id,
            lines=[
                services.ReturnRequestLine(sku=line.sku, quantity=Decimal(line.quantity))
                for line in body.lines
            ],
        )
        return 201, {
            "id": record.pk,
            "purchase_id": record.purchase_id,
            "amount": format_rubles(record.amount),
            "earn_points_reversed": record.earn_reversed,
            "redeem_points_refunded": record.redeem_refunded,
            "points_not_recovered": record.earn_not_recovered,
            "lines": [
                {
                    "sku": line.purchase_line.sku,
                    "quantity": str(line.quantity),
                    "amount": format_rubles(line.amount),
                    "earn_points_reversed": line.earn_reversed,
                    "redeem_points_refunded": line.redeem_refunded,
                }
                for line in record.lines.select_related("purchase_line").order_by("id")
            ],
        }

    return Status(
        *run_idempotent(
            scope=seller.idempotency_scope,
            key=key,
            request_hash=request_fingerprint("return", purchase_id, body.model_dump(mode="json")),
            work=work,
        )
    )
