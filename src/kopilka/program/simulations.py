"""What-if runs in the background: requested by staff, done by the worker (`db_worker`), read
back with their progress and result. The replay itself is `program.simulation.simulate`."""

import os
from datetime import date
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError
from kopilka.pos.models import Purchase
from kopilka.program.engine.document import DocumentError, program_from_document
from kopilka.program.models import Simulation
from kopilka.program.simulation import default_period, simulate


class DraftInvalid(DomainError):
    code = "draft_invalid"


def simulation_request(
    *, draft: dict[str, Any], since: date | None, until: date | None, actor: Actor
) -> Simulation:
    """Queue a run of `draft` (checked now: DocumentError lists its problems) over the period,
    by default the last 12 months."""
    try:
        program_from_document(draft)
    except DocumentError as exc:
        raise DraftInvalid(
            _("The draft is not a valid program document."),
            fields={
                f"draft.{path}" if path != "(document)" else "draft": m for path, m in exc.problems
            },
        ) from exc
    start, end = default_period(clock.business_date(clock.now()))
    if since is not None:
        start = clock.start_of_business_day(since)
    if until is not None:
        end = clock.start_of_business_day(until)
    if end <= start:
        raise DomainError(
            _("The period must end after it starts."), fields={"until": _("After since.")}
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
