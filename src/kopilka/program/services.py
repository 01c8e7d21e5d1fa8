"""Program versions: the one way the program changes (a version is only ever added); and the
what-if runs of a draft, requested by staff and done by the worker (`db_worker`), whose replay
is `program.simulation.simulate`."""

import os
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError
from kopilka.pos.models import Purchase
from kopilka.program.engine.document import (
    DocumentError,
    program_from_document,
    program_to_document,
)
from kopilka.program.models import ProgramVersion, Simulation
from kopilka.program.selectors import program_cache_clear
from kopilka.program.simulation import default_period, simulate

# A till's clock and an owner's click are not exactly now; further back would re-price history.
PAST_TOLERANCE = timedelta(minutes=1)
# A version planned further ahead is a typo (and year 9999 does not fit the database's clock).
FUTURE_LIMIT = timedelta(days=10 * 366)


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


class EffectiveTooFar(DomainError):
    code = "effective_too_far"

    def describe(self) -> tuple[str, dict[str, str]]:
        message = str(_("A new version can take effect at most 10 years from now."))
        return message, {"effective_from": message}


@transaction.atomic
def program_version_create(
    *, actor: Actor, document: object, effective_from: datetime | None = None, note: str = ""
) -> ProgramVersion:
    """Validate `document` and store it, canonical, as a new version in force from
    `effective_from` (default now; not more than a minute in the past, at most 10 years ahead).

    Raises `DocumentError` with every problem of an invalid document, `EffectiveInPast` for a
    past time, `EffectiveTooFar` for one too far ahead; writes nothing then. Every process follows the new version within
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
    if effective_from > now + FUTURE_LIMIT:
        raise EffectiveTooFar("effective_from is too far ahead")
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


class DraftInvalid(DomainError):
    code = "draft_invalid"


class DocumentInvalid(DomainError):
    """A program document with problems, each under its JSON path in `fields`."""

    code = "document_invalid"

    @classmethod
    def of(cls, error: DocumentError, field: str = "document") -> "DocumentInvalid":
        return cls(
            gettext("The document is not a valid program document."), fields=error.fields(field)
        )


def simulation_request(
    *, draft: dict[str, Any], since: date | None, until: date | None, actor: Actor
) -> Simulation:
    """Queue a run of `draft` (checked now: DocumentError lists its problems) over the period,
    by default the last 12 months."""
    try:
        program_from_document(draft)
    except DocumentError as exc:
        raise DraftInvalid(
            gettext("The draft is not a valid program document."), fields=exc.fields("draft")
        ) from exc
    start, end = default_period(clock.business_date(clock.now()))
    if since is not None:
        start = clock.start_of_business_day(since)
    if until is not None:
        end = clock.start_of_business_day(until)
    if end <= start:
        raise DomainError(
            gettext("The period must end after it starts."),
            fields={"until": gettext("After since.")},
        )
    simulation = Simulation.objects.create(
        draft=draft,
        since=start,
        until=end,
        requested_at=clock.now(),
        requested_by=actor.label,
    )
    audit_record(
        actor=actor,
        action="program.simulation_request",
        target_type="program.simulation",
        target_id=simulation.pk,
    )
    from kopilka.program.tasks import program_simulation  # the task module imports this one

    transaction.on_commit(lambda: program_simulation.enqueue(simulation_id=simulation.pk))
    return simulation


def _replayed(simulation_id: int, count: int) -> None:
    Simulation.objects.filter(pk=simulation_id).update(purchases_done=F("purchases_done") + count)


def simulation_run(*, simulation_id: int) -> Simulation:
    """Do a queued run: the status says running meanwhile, failed with its error if it fails."""
    simulation = Simulation.objects.get(pk=simulation_id)
    total = Purchase.objects.filter(
        created_at__gte=simulation.since, created_at__lt=simulation.until
    ).count()
    Simulation.objects.filter(pk=simulation_id).update(
        status=Simulation.Status.RUNNING, purchases_total=total, purchases_done=0
    )
    parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    try:
        result = simulate(
            program_from_document(simulation.draft),
            since=simulation.since,
            until=simulation.until,
            workers=(os.cpu_count() or 1) if parallel else 1,
            progress=partial(_replayed, simulation_id),
        )
    except Exception as exc:  # the run's failure is its result; the worker goes on
        Simulation.objects.filter(pk=simulation_id).update(
            status=Simulation.Status.FAILED, error=repr(exc), finished_at=clock.now()
        )
        raise
    Simulation.objects.filter(pk=simulation_id).update(
        status=Simulation.Status.READY, result=result, finished_at=clock.now()
    )
    return Simulation.objects.get(pk=simulation_id)
