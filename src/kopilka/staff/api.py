"""/api/v1/staff/: the back office's work for scripts, with a person's own token (made on their
profile page): who am I, the program in force and new versions of it, a draft's preview and
what-if runs, the stores' and staff results. Each operation checks the person's roles as the
back office's pages do; the services are the pages' own."""

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path as PathParam
from ninja import Query, Router, Schema, Status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kopilka.api.auth import StaffTokenAuth, staff_of
from kopilka.api.schemas import ERRORS, MAX_ID, ErrorOut, JsonObject, text
from kopilka.backoffice.preview import (
    Example,
    Figures,
    Outcome,
    example_member,
    example_quotes,
    outcome,
    product_names,
    shop_stores,
)
from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError, Forbidden
from kopilka.core.money import format_rubles
from kopilka.pos.api import LineIn
from kopilka.pos.models import Store
from kopilka.pos.stores import StoreRef
from kopilka.program import engine
from kopilka.program.api import SimulationIn, SimulationNotFound, SimulationOut, simulation_out
from kopilka.program.engine.document import (
    DocumentError,
    document_warnings,
    program_from_document,
    program_to_document,
)
from kopilka.program.engine.explain import program_explained
from kopilka.program.models import Simulation
from kopilka.program.selectors import program_in_force, program_in_force_since
from kopilka.program.services import DocumentInvalid, program_version_create, simulation_request
from kopilka.staff.results import CAME_BACK_DAYS, Row, staff_leaderboard, store_results
from kopilka.staff.roles import (
    ANY_ROLE,
    BACK_OFFICE,
    MANAGING,
    MARKETING,
    OWNER,
    Need,
    roles_of,
    stores_of,
)

router = Router(tags=["staff"], auth=StaffTokenAuth())

STAFF_ERRORS = {**ERRORS, 403: ErrorOut}


PROGRAM_READERS, PROGRAM_WRITERS, RESULTS_READERS = BACK_OFFICE, MARKETING, MANAGING


def _person(request: HttpRequest, need: Need) -> Any:
    """The token's person when one of their roles is in `need`; Forbidden (403) otherwise."""
    user = staff_of(request)
    if not need.allowed(user):
        roles = ", ".join(need.names())
        raise Forbidden(_("This needs one of the roles: %(roles)s.") % {"roles": roles})
    return user


class PeriodInvalid(DomainError):
    code = "period_invalid"


# The days a period may name: the business's history and its plans, not year 1 or 9999.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _period_check(since: date | None, until: date | None) -> None:
    for name, day in (("since", since), ("until", until)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            message = _("A date from %(earliest)s to %(latest)s.") % {
                "earliest": EARLIEST_DAY.isoformat(),
                "latest": LATEST_DAY.isoformat(),
            }
            raise PeriodInvalid(message, fields={name: message})
    if since is not None and until is not None and until < since:
        raise PeriodInvalid(
            _("The period must end after it starts."), fields={"until": _("After since.")}
        )


# --- who am I -------------------------------------------------------------------------------


class StoreOut(Schema):
    code: str
    name: str


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    roles: list[str] = Field(
        description="Роли: owner, marketer, store_manager, cashier. "
        "The person's roles: owner, marketer, store_manager, cashier"
    )
    all_stores: bool = Field(
        description="Владелец работает во всех магазинах. An owner works in every store"
    )
    stores: list[StoreOut] = Field(
        description="Магазины сотрудника, по названию. The stores the person works in, by name"
    )


@router.get(
    "/me",
    response={200: MeOut, **STAFF_ERRORS},
    summary="Кто я: роли и магазины / Who I am: roles and stores",
    description="Любая роль. Any role.",
)
def me(request: HttpRequest) -> MeOut:
    user = _person(request, ANY_ROLE)
    roles = roles_of(user)
    owner = OWNER in roles  # roles_of counts a superuser as the owner, as is_owner does
    stores = list(Store.objects.order_by("name")) if owner else stores_of(user)
    return MeOut(
        id=user.pk,
        username=user.get_username(),
        full_name=user.get_full_name(),
        roles=roles,
        all_stores=owner,
        stores=[StoreOut(code=store.code, name=store.name) for store in stores],
    )


# --- the program ----------------------------------------------------------------------------

DOCUMENT_HELP = (
    "Документ программы, как его читает `manage.py program_apply` (README). "
    "The program document, as `manage.py program_apply` reads it (README)"
)


class StaffProgramOut(Schema):
    id: int = Field(
        description="Номер версии; 0 — встроенная программа по умолчанию. "
        "The version's id; 0 = the built-in default program"
    )
    effective_from: datetime | None = Field(
        description="С какого момента действует; null для встроенной. "
        "When it took effect; null for the built-in default"
    )
    name: str
    document: dict[str, Any] = Field(description=DOCUMENT_HELP)


@router.get(
    "/program",
    response={200: StaffProgramOut, **STAFF_ERRORS},
    summary="Программа в силе / The program in force",
    description="Владелец, маркетолог, управляющий магазином. Owner, marketer, store manager.",
)
def program_get(request: HttpRequest) -> StaffProgramOut:
    _person(request, PROGRAM_READERS)
    program, since = program_in_force_since()
    return StaffProgramOut(
        id=program.version,
        effective_from=since,
        name=program.name,
        document=program_to_document(program),
    )


class ProgramVersionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"document": {"name": "Кофейня", "earn_percent": "7"}, "note": "5 %"}]
        }
    )

    document: JsonObject = Field(description=DOCUMENT_HELP)
    effective_from: AwareDatetime | None = Field(
        None,
        description="С какого момента действует, ISO 8601 со смещением (по умолчанию сейчас; "
        "не в прошлом, не дальше 10 лет). When it takes effect, ISO 8601 with offset "
        "(default now; not in the past, at most 10 years ahead)",
    )
    note: text(500) = Field(  # type: ignore[valid-type]
        "", description="Зачем эта версия, для истории. Why this version, for the history"
    )


class ProgramVersionOut(StaffProgramOut):
    effective_from: datetime
    note: str
    warnings: list[str] = Field(
        description="Что документ позволяет, но стоит знать владельцу. "
        "What the document allows but an owner should hear about"
    )


@router.post(
    "/program/versions",
    response={201: ProgramVersionOut, **STAFF_ERRORS},
    summary="Новая версия программы / A new version of the program",
    description=(
        "Владелец, маркетолог. Неверный документ — 422 `document_invalid`, каждая ошибка "
        "под своим путём в `fields` (document.rules[0].then…). "
        "Owner, marketer. An invalid document: 422 `document_invalid` with each problem under "
        "its path in `fields` (document.rules[0].then…)."
    ),
)
def program_version_add(request: HttpRequest, body: ProgramVersionIn) -> Status[ProgramVersionOut]:
    user = _person(request, PROGRAM_WRITERS)
    try:
        version = program_version_create(
            actor=Actor.staff(user),
            document=body.document,
            effective_from=body.effective_from,
            note=body.note,
        )
    except DocumentError as error:
        raise DocumentInvalid.of(error) from None
    program = program_from_document(version.document, version=version.pk)
    return Status(
        201,
        ProgramVersionOut(
            id=version.pk,
            effective_from=version.effective_from,
            name=program.name,
            document=version.document,
            note=version.note,
            warnings=document_warnings(program),
        ),
    )


# --- a draft's preview ----------------------------------------------------------------------

PREVIEW_RECEIPTS = 20
# A preview's receipt may be dated this far from now either way (a promotion planned ahead).
PREVIEW_SPAN = timedelta(days=366)


class PreviewReceiptIn(BaseModel):
    label: text(100) = Field(  # type: ignore[valid-type]
        "", description="Как назвать пример. What to call the example"
    )
    store: text(32) = Field(  # type: ignore[valid-type]
        "",
        description="Код магазина (по умолчанию первый). The store's code (default: the first)",
    )
    tier: text(32) = Field(  # type: ignore[valid-type]
        "",
        description="Код уровня участника по черновику (по умолчанию без уровня). "
        "The member's tier code in the draft (default: none)",
    )
    purchased_at: AwareDatetime | None = Field(
        None,
        description="Время чека, ISO 8601 со смещением, в пределах года от сейчас (по умолчанию "
        "сейчас). The receipt's time, ISO 8601 with offset, within a year of now (default now)",
    )
    lines: list[LineIn] = Field(min_length=1, max_length=100)


class PreviewIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document": {"name": "Кофейня", "earn_percent": "7"},
                    "receipts": [{"lines": [{"sku": "CAP", "category": "coffee", "price": "250"}]}],
                }
            ]
        }
    )

    document: JsonObject = Field(description=DOCUMENT_HELP)
    receipts: list[PreviewReceiptIn] | None = Field(
        None,
        max_length=PREVIEW_RECEIPTS,
        description="Свои чеки для примера; без них — примеры из самого черновика (чек на "
        "1 000 ₽, каждый уровень, каждое правило). Receipts to price; without them, examples "
        "made from the draft itself (a 1,000 ₽ receipt, each tier, each rule)",
    )


class FiguresOut(Schema):
    discount: str = Field(description="Скидка, ₽. Money off, roubles")
    earn_points: int
    max_redeemable: int = Field(
        description="Сколько баллов можно списать. Points the member may pay with"
    )
    payable: str = Field(description="К оплате без баллов, ₽. To pay without points, roubles")


class ExampleOut(Schema):
    label: str
    amount: str = Field(description="Сумма чека, ₽. The receipt's amount, roubles")
    draft: FiguresOut = Field(description="По черновику. Under the draft")
    live: FiguresOut = Field(description="По программе в силе. Under the program in force")
    changed: bool
    reasons: list[str] = Field(
        description="Почему так, по черновику, словами участника. The draft's reasons, as the "
        "member would read them"
    )


class PreviewOut(Schema):
    name: str
    explanation: list[str] = Field(
        description="Черновик простыми словами. The draft in plain sentences"
    )
    warnings: list[str]
    examples: list[ExampleOut]


def _figures(quoted: Figures) -> FiguresOut:
    """The preview's four figures, with money as strings."""
    return FiguresOut(
        discount=format_rubles(quoted.discount),
        earn_points=quoted.earn_points,
        max_redeemable=quoted.max_redeemable,
        payable=format_rubles(quoted.payable),
    )


class OutOfRange(DomainError):
    code = "out_of_range"


def _own_example(
    number: int,
    receipt: PreviewReceiptIn,
    stores: list[StoreRef],
    draft: engine.Program,
    live: engine.Program,
    now: datetime,
) -> ExampleOut:
    """A receipt the caller sent, priced for a member enrolled long ago with points to spend."""
    at = receipt.purchased_at or now
    if not now - PREVIEW_SPAN <= at <= now + PREVIEW_SPAN:
        raise OutOfRange(
            _("A preview's receipts are dated within a year of now."),
            fields={
                f"receipts.{number}.purchased_at": _("From %(earliest)s to %(latest)s.")
                % {
                    "earliest": (now - PREVIEW_SPAN).isoformat(timespec="seconds"),
                    "latest": (now + PREVIEW_SPAN).isoformat(timespec="seconds"),
                }
            },
        )
    store = next((s for s in stores if s.code == receipt.store), None)
    code = receipt.store or stores[0].code
    zone = store.time_zone if store else stores[0].time_zone
    priced = engine.Receipt(
        store=code, at=at, time_zone=zone, lines=tuple(line.to_domain() for line in receipt.lines)
    )
    tier = draft.tier(receipt.tier) if receipt.tier else None
    state = {"tier": tier.code, "window_spend": tier.qualify_spend} if tier else {}
    label = receipt.label or _("Receipt %(number)d") % {"number": number + 1}
    return _example_out(outcome(Example(label, priced, example_member(at, **state)), draft, live))


def _example_out(priced: Outcome) -> ExampleOut:
    return ExampleOut(
        label=priced.label,
        amount=format_rubles(priced.amount),
        draft=_figures(priced.draft),
        live=_figures(priced.live),
        changed=priced.changed,
        reasons=list(priced.reasons),
    )


@router.post(
    "/program/preview",
    response={200: PreviewOut, **STAFF_ERRORS},
    summary="Предпросмотр черновика на примерах чеков / A draft priced on example receipts",
    description=(
        "Владелец, маркетолог. Ничего не записывает. "
        "Owner, marketer. Writes nothing; the same engine as the tills."
    ),
)
def program_preview(request: HttpRequest, body: PreviewIn) -> PreviewOut:
    _person(request, PROGRAM_WRITERS)
    try:
        draft = program_from_document(body.document)
    except DocumentError as error:
        raise DocumentInvalid.of(error) from None
    live, now, stores = program_in_force(), clock.now(), shop_stores()
    if body.receipts:
        examples = [
            _own_example(n, receipt, stores, draft, live, now)
            for n, receipt in enumerate(body.receipts)
        ]
    else:
        shown = example_quotes(draft, live, stores=stores, products=product_names(), now=now)
        examples = [_example_out(priced) for priced in shown]
    return PreviewOut(
        name=draft.name,
        explanation=program_explained(draft),
        warnings=document_warnings(draft),
        examples=examples,
    )


# --- what-if runs ---------------------------------------------------------------------------


class StaffSimulationIn(SimulationIn):
    """A what-if run of a draft over a period (days from 2000-01-01 to 2099-12-31)."""


@router.post(
    "/program/simulations",
    response={202: SimulationOut, **STAFF_ERRORS},
    summary="Что было бы, если бы: запуск / Start a what-if run of a draft",
    description=(
        "Владелец, маркетолог, управляющий магазином. Прогон идёт в фоне: спрашивайте его "
        "ход по id. Owner, marketer, store manager. The run goes on in the background: ask "
        "for its progress by id."
    ),
)
def simulations_create(request: HttpRequest, body: StaffSimulationIn) -> Status[SimulationOut]:
    user = _person(request, PROGRAM_READERS)
    _period_check(body.since, body.until)
    simulation = simulation_request(
        draft=body.draft, since=body.since, until=body.until, actor=Actor.staff(user)
    )
    return Status(202, simulation_out(simulation))


@router.get(
    "/program/simulations/{simulation_id}",
    response={200: SimulationOut, **STAFF_ERRORS},
    summary="Что было бы, если бы: ход и итог / A what-if run's progress and result",
    description="Владелец, маркетолог, управляющий магазином. Owner, marketer, store manager.",
)
def simulations_get(
    request: HttpRequest, simulation_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]
) -> SimulationOut:
    _person(request, PROGRAM_READERS)
    simulation = Simulation.objects.filter(pk=simulation_id).first()
    if simulation is None:
        raise SimulationNotFound(_("No simulation with this id."))
    return simulation_out(simulation)


# --- results --------------------------------------------------------------------------------


class ResultsQuery(Schema):
    since: date | None = Field(
        None,
        description="Первый день (по умолчанию 1-е число месяца). "
        "The first day (default: the 1st of this month)",
    )
    until: date | None = Field(
        None, description="Последний день (по умолчанию сегодня). The last day (default: today)"
    )


class FiguresRowOut(Schema):
    name: str = Field(
        description="Название магазина или имя пользователя. The store's name or the user name"
    )
    enrolled: int = Field(description="Новых участников. Members enrolled")
    came_back: int = Field(
        description="Из них вернулись за покупкой. Of those, bought again within the days"
    )
    came_back_share: float | None
    receipts: int
    with_card: int = Field(description="Чеков с картой. Receipts with a member's card")
    card_share: float | None
    points_redeemed: int
    rewards_given: int = Field(description="Подарков по чекам. Vouchers used with the receipts")


class StoreRowOut(FiguresRowOut):
    code: str


class ResultsOut(Schema):
    since: date
    until: date
    came_back_days: int = Field(
        description="«Вернулся»: новая покупка в эти дни после вступления. “Came back”: bought "
        "again within this many days of joining"
    )
    stores: list[StoreRowOut]
    staff: list[FiguresRowOut] = Field(
        description="Сотрудники этих магазинов, больше всего новых участников — первыми. "
        "The people of these stores, the most members enrolled first"
    )


def _row(row: Row) -> dict[str, Any]:
    f = row.figures
    return {
        "name": row.name,
        "enrolled": f.enrolled,
        "came_back": f.came_back,
        "came_back_share": f.came_back_share,
        "receipts": f.receipts,
        "with_card": f.with_card,
        "card_share": f.card_share,
        "points_redeemed": f.points_redeemed,
        "rewards_given": f.rewards_given,
    }


@router.get(
    "/results",
    response={200: ResultsOut, **STAFF_ERRORS},
    summary="Итоги магазинов и сотрудников / Store results and the staff leaderboard",
    description=(
        "Владелец, управляющий магазином; только магазины вызывающего. "
        "Owner, store manager; only the caller's own stores."
    ),
)
def results(request: HttpRequest, period: Query[ResultsQuery]) -> ResultsOut:
    user = _person(request, RESULTS_READERS)
    _period_check(period.since, period.until)
    today = clock.business_date(clock.now())
    until = period.until or today
    since = period.since or min(today.replace(day=1), until)
    _period_check(since, until)
    stores = stores_of(user)
    by_store = store_results(stores, since, until)
    return ResultsOut(
        since=since,
        until=until,
        came_back_days=CAME_BACK_DAYS,
        stores=[
            StoreRowOut(code=store.code, **_row(row))
            for store, row in zip(stores, by_store, strict=True)
        ],
        staff=[FiguresRowOut(**_row(row)) for row in staff_leaderboard(stores, since, until)],
    )
