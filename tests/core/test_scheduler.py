"""The scheduler: each nightly job once per business day, at its local time, whatever runs it."""

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from kopilka.core import clock, scheduler
from kopilka.core.audit import Actor
from kopilka.core.models import ScheduledRun
from kopilka.ledger.models import PointLot
from tests.conftest import enroll, points_move, postgres_only

pytestmark = pytest.mark.django_db

# Moscow is UTC+3: 21:04 UTC is 00:04 there, a minute before expire_points' 00:05.
BEFORE = datetime(2026, 3, 1, 21, 4, tzinfo=UTC)
AFTER = datetime(2026, 3, 1, 21, 11, tzinfo=UTC)  # 00:11 on 2 March: both jobs are due
calls: list[date] = []


def counted(*, day: date, actor: Actor) -> dict[str, Any]:
    calls.append(day)
    return {"day": day.isoformat(), "by": actor.label}


def failing(*, day: date, actor: Actor) -> dict[str, Any]:
    calls.append(day)
    raise RuntimeError("the provider is down")


@pytest.fixture(autouse=True)
def _no_calls() -> None:
    calls.clear()


def test_nothing_runs_before_its_time_then_each_job_once_for_the_day() -> None:
    assert scheduler.run_due(BEFORE) == []
    runs = scheduler.run_due(AFTER)
    assert [(r.job, r.day) for r in runs] == [
        ("expire_points", date(2026, 3, 2)),
        ("daily_jobs", date(2026, 3, 2)),
    ]
    assert all(r.finished_at and not r.error for r in runs)
    daily = next(r for r in runs if r.job == "daily_jobs")
    assert daily.result is not None and daily.result["day"] == "2026-03-01"  # the day just ended
    assert scheduler.run_due(AFTER + timedelta(hours=5)) == []  # later the same day: nothing
    next_night = scheduler.run_due(AFTER + timedelta(days=1))
    assert [r.day for r in next_night] == [date(2026, 3, 3)] * 2


def test_expiry_runs_for_real_and_a_late_start_still_runs_the_day() -> None:
    with clock.frozen_at(datetime(2025, 2, 1, 12, tzinfo=UTC)):
        member = enroll()
        points_move(member.pk, earn=300)
    lot = PointLot.objects.get(member=member)
    midday = lot.expires_at + timedelta(hours=12)  # the scheduler was down at 00:05
    with clock.frozen_at(midday):
        runs = scheduler.run_due()
    expired = next(r for r in runs if r.job == "expire_points")
    assert expired.result == {"members": 1, "points": 300}
    lot.refresh_from_db()
    assert lot.remaining == 0


@override_settings(KOPILKA_SCHEDULE={"flaky": ("00:05", "tests.core.test_scheduler.failing")})
def test_a_failed_run_is_kept_with_its_error_and_tried_again_later() -> None:
    (run,) = scheduler.run_due(AFTER)
    assert run.finished_at is None and "the provider is down" in run.error
    assert scheduler.run_due(AFTER + timedelta(minutes=1)) == []  # not at once
    (again,) = scheduler.run_due(AFTER + scheduler.RETRY)
    assert again.pk == run.pk and calls == [date(2026, 3, 2)] * 2


@override_settings(KOPILKA_SCHEDULE={"count": ("00:05", "tests.core.test_scheduler.counted")})
def test_a_run_left_unfinished_by_a_killed_process_is_taken_over_once_stale() -> None:
    ScheduledRun.objects.create(job="count", day=date(2026, 3, 2), started_at=AFTER)
    assert scheduler.run_due(AFTER + timedelta(minutes=30)) == []  # may still be running
    (run,) = scheduler.run_due(AFTER + scheduler.STALE)
    assert run.finished_at is not None and calls == [date(2026, 3, 2)]


@override_settings(KOPILKA_SCHEDULE={"count": ("00:05", "tests.core.test_scheduler.counted")})
def test_the_command_prints_each_run_as_json(capsys: Any) -> None:
    with clock.frozen_at(AFTER):
        call_command("scheduler", "--once")
        call_command("scheduler", "--once")
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        '{"job": "count", "day": "2026-03-02", "result": '
        '{"day": "2026-03-02", "by": "system:count"}}'
    ]


def test_the_next_wake_up_is_the_nearest_job_time() -> None:
    assert scheduler.seconds_to_next(BEFORE) == 60  # 00:05 is a minute away
    assert scheduler.seconds_to_next(AFTER) == timedelta(hours=23, minutes=54).total_seconds()


@postgres_only
@pytest.mark.django_db(transaction=True)
@override_settings(KOPILKA_SCHEDULE={"count": ("00:05", "tests.core.test_scheduler.counted")})
def test_two_schedulers_at_the_same_moment_run_a_day_once() -> None:
    barrier = threading.Barrier(4)

    def scheduler_process() -> None:
        try:
            barrier.wait()
            scheduler.run_due(AFTER)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler_process) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [date(2026, 3, 2)]
    assert ScheduledRun.objects.get().finished_at is not None
