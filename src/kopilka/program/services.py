"""Program versions: the one way the program changes. A version is only ever added."""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError
from kopilka.program.engine.document import program_from_document, program_to_document
from kopilka.program.models import ProgramVersion
from kopilka.program.selectors import program_cache_clear

# A till's clock and an owner's click are not exactly now; further back would re-price history.
PAST_TOLERANCE = timedelta(minutes=1)


class EffectiveInPast(DomainError):
    code = "effective_in_past"

    def describe(self) -> tuple[str, dict[str, str]]:
        message = str(
            _(
                "A new version cannot take effect in the past: purchases already priced by the "
                "version in force would change their meaning."
            )
        )
        return message, {"effective_from": message}


@transaction.atomic
def program_version_create(
    *, actor: Actor, document: object, effective_from: datetime | None = None, note: str = ""
) -> ProgramVersion:
    """Validate `document` and store it, canonical, as a new version in force from
    `effective_from` (default now; not more than a minute in the past).

    Raises `DocumentError` with every problem of an invalid document, `EffectiveInPast` for a
    past time; writes nothing then. Every process follows the new version within
    KOPILKA_RULES_CACHE_SECONDS (this one at once, on commit).
    """
    program = program_from_document(document)
    now = clock.now()
    if effective_from is None:
        effective_from = now
    elif effective_from.tzinfo is None:
        raise ValueError("effective_from must be an aware datetime")
    if effective_from < now - PAST_TOLERANCE:
        raise EffectiveInPast("effective_from is in the past")
    canonical: dict[str, Any] = program_to_document(program)
    version = ProgramVersion.objects.create(
        document=canonical,
        effective_from=effective_from,
        created_at=now,
        created_by=actor.label,
        note=note,
    )
    audit_record(
        actor=actor,
        action="program.version",
        target_type="program_version",
        target_id=version.pk,
        data={"effective_from": effective_from.isoformat(), "document": canonical, "note": note},
    )
    transaction.on_commit(program_cache_clear)
    return version
