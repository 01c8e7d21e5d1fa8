"""The nightly jobs, run by `manage.py scheduler` at their local times (settings.KOPILKA_SCHEDULE).

Each job runs once per business day: the scheduler claims (job, day) by inserting a
ScheduledRun row, so a second scheduler, a restart or a clock step back never runs a day twice.
A scheduler started after a job's time runs it at once (the day is not lost to a restart); a
run that failed is tried again `RETRY` later, and one left unfinished by a killed process
is taken over once it is `STALE` old. Jobs are idempotent by themselves as well.
"""

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.models import ScheduledRun

log = logging.getLogger(__name__)

STALE = timedelta(hours=2)  # a claim this old and unfinished belongs to a dead process
RETRY = timedelta(minutes=10)  # a failed run is tried again this long after it started
JobFunction = Callable[..., dict[str, Any]]  # (*, day, actor) -> what it did, as JSON


@dataclass(frozen=True)
class Job:
    name: str
    at: time  # local (business) time of day
    function: str  # dotted path

    def due_day(self, now: datetime) -> date | None:
        """The business day this job is due for at `now`, or None before today's time."""
        local = now.astimezone(clock.business_tz())
        return local.date() if local.time() >= self.at else None

    def next_time(self, now: datetime) -> datetime:
        local = now.astimezone(clock.business_tz())
        today = datetime.combine(local.date(), self.at, tzinfo=clock.business_tz())
        return today if today > local else today + timedelta(days=1)


def jobs() -> list[Job]:
    return [
        Job(name, time.fromisoformat(at), function)
        for name, (at, function) in settings.KOPILKA_SCHEDULE.items()
    ]


def run_due(now: datetime | None = None) -> list[ScheduledRun]:
    """Run every job due and not yet run for its day; the runs made, in order."""
    now = now or clock.now()
    done = []
    for job in jobs():
        day = job.due_day(now)
        if day is not None and (run := _claim(job, day, now)) is not None:
            done.append(_run(job, run))
    return done


def seconds_to_next(now: datetime | None = None) -> float:
    now = now or clock.now()
    return min((job.next_time(now) - now).total_seconds() for job in jobs())


def _claim(job: Job, day: date, now: datetime) -> ScheduledRun | None:
    try:
        with transaction.atomic():
            return ScheduledRun.objects.create(job=job.name, day=day, started_at=now)
    except IntegrityError:
        pass
    # taken before: again only if it failed, or its process died (compare-and-set on the row)
    retry = ScheduledRun.objects.filter(job=job.name, day=day, finished_at__isnull=True).filter(
        Q(started_at__lte=now - STALE) | (~Q(error="") & Q(started_at__lte=now - RETRY))
    )
    if retry.update(started_at=now, error="") != 1:
        return None
    return ScheduledRun.objects.get(job=job.name, day=day)


def _run(job: Job, run: ScheduledRun) -> ScheduledRun:
    function: JobFunction = import_string(job.function)
    try:
        run.result = function(day=run.day, actor=Actor.system(job.name))
    except Exception:
        log.exception("scheduled job %s for %s failed", job.name, run.day)
        run.error = traceback.format_exc()
        run.save(update_fields=["error"])
        return run
    run.finished_at = clock.now()
    run.save(update_fields=["result", "finished_at"])
    log.info("scheduled job %s for %s: %s", job.name, run.day, run.result)
    return run
