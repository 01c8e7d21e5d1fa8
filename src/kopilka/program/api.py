"""GET /api/v1/program: the program in force, its document and the program in plain sentences;
/api/v1/program/simulations: what-if runs of a draft, for staff signed in to the back office."""

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path as PathParam
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import SessionAuth
from ninja.utils import check_csrf
from pydantic import Field

from kopilka.api.auth import terminal_of
from kopilka.api.schemas import ERRORS, MAX_ID, ErrorOut, JsonObject
from kopilka.core.audit import Actor
from kopilka.core.errors import NotFound
from kopilka.program.engine.document import program_to_document
from kopilka.program.engine.explain import program_explained
from kopilka.program.models import Simulation
from kopilka.program.selectors import program_in_force_since
from kopilka.program.services import simulation_request

router = Router(tags=["program"])


class ProgramOut(Schema):
    version: int = Field(description="the version's id; 0 = the built-in default program")
    effective_from: datetime | None = Field(
        description="when the version took effect; null for the built-in default"
    )
    name: str
    document: dict[str, Any] = Field(
        description="the program document, as `manage.py program_apply` reads it (README)"
    )
    explanation: list[str] = Field(
        description="the program in plain sentences, in the language of Accept-Language"
    )


@router.get(
    "/program",
    response={200: ProgramOut, **ERRORS},
    summary="Программа лояльности в силе / The program in force",
    description=(
        "Версия программы, действующая сейчас, её документ и описание простыми словами "
        "(для портала, экрана кассира и печатных материалов). "
        "The version in force now, its document and the program in plain sentences "
        "(for the portal, the cashier screen and printed materials)."
    ),
)
def program_get(request: HttpRequest) -> ProgramOut:
    terminal_of(request)
    program, since = program_in_force_since()
    return ProgramOut(
        version=program.version,
        effective_from=since,
        name=program.name,
        document=program_to_document(program),
        explanation=program_explained(program),
    )


class StaffSession(SessionAuth):
    """A staff user signed in to the back office (the session cookie). Who it is is checked
    first (anyone else: 401), then, for a staff user's POST, Django's CSRF token (403)."""

    def __init__(self) -> None:
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or not user.is_staff:
            return None
        if not getattr(request, "_dont_enforce_csrf_checks", False) and check_csrf(request):
            raise HttpError(403, _("Send the CSRF token of your back-office session."))
        return user


class SimulationIn(Schema):
    draft: JsonObject = Field(description="the draft program document (README)")
    since: date | None = Field(None, description="the first day; default: 12 months ago")
    until: date | None = Field(None, description="the day after the last; default: today")


class SimulationOut(Schema):
    id: int
    status: str = Field(description="queued, running, ready or failed")
    progress: float = Field(description="0 to 1: the share of the period's purchases replayed")
    since: datetime
    until: datetime
    purchases_total: int
    result: dict[str, Any] | None = Field(
        description="when ready: purchases, members, live, draft, members_better_off, "
        "members_worse_off, median_change_points, months (program cost per month: month, "
        "live_cost, draft_cost), change_distribution (bars of from, to, members), assumptions "
        "(as program_simulate prints)"
    )
    error: str | None


def simulation_out(simulation: Simulation) -> SimulationOut:
    return SimulationOut(
        id=simulation.pk,
        status=simulation.status,
        progress=round(simulation.progress, 4),
        since=simulation.since,
        until=simulation.until,
        purchases_total=simulation.purchases_total,
        result=simulation.result,
        error=simulation.error or None,
    )


@router.post(
    "/program/simulations",
    response={202: SimulationOut, 403: ErrorOut, **ERRORS},
    auth=StaffSession(),
    summary="Что было бы, если бы: запуск / Start a what-if run of a draft (staff)",
)
def simulations_create(request: HttpRequest, body: SimulationIn) -> Status[SimulationOut]:
    simulation = simulation_request(
        draft=body.draft,
        since=body.since,
        until=body.until,
        actor=Actor.staff(request.auth),  # type: ignore[attr-defined]
    )
    return Status(202, simulation_out(simulation))


@router.get(
    "/program/simulations/{simulation_id}",
    response={200: SimulationOut, **ERRORS},
    auth=StaffSession(),
    summary="Что было бы, если бы: ход и итог / A what-if run's progress and result (staff)",
)
def simulations_get(
    request: HttpRequest, simulation_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]
) -> SimulationOut:
    simulation = Simulation.objects.filter(pk=simulation_id).first()
    if simulation is None:
        raise SimulationNotFound(_("No simulation with this id."))
    return simulation_out(simulation)


class SimulationNotFound(NotFound):
    code = "simulation_not_found"
