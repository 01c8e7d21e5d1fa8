"""GET /api/v1/program: the program in force, its document and the program in plain sentences."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from kopilka.api.auth import terminal_of
from kopilka.api.schemas import ERRORS
from kopilka.program.engine.document import program_to_document
from kopilka.program.engine.explain import program_explained
from kopilka.program.selectors import program_in_force_since

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
