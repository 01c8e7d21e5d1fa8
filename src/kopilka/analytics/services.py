"""Services of analytics: run the pipeline into a snapshot, set up a campaign's control group."""

import logging
import math
import resource
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from kopilka.analytics.frames import Frames, frames_load
from kopilka.analytics.models import Snapshot
from kopilka.analytics.pipeline import Report, report_build
from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.pos.models import Store

log = logging.getLogger(__name__)

SNAPSHOTS_KEPT = 3
FACTS = ("purchases", "returns", "members", "adjustments")


def snapshot_dir(snapshot_id: int) -> Path:
    return Path(settings.KOPILKA_ANALYTICS_DIR) / f"snapshot-{snapshot_id}"


def json_safe(value: Any) -> Any:
    """NaN and infinities become null: they are not JSON, and mean "no figure" here."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def store_names() -> pl.DataFrame:
    return pl.DataFrame(
        list(Store.objects.order_by("pk").values_list("pk", "name")),
        schema={"store_id": pl.Int64, "store": pl.String},
        orient="row",
    )


def staff_names() -> pl.DataFrame:
    return pl.DataFrame(
        list(get_user_model().objects.order_by("pk").values_list("pk", "username")),
        schema={"user_id": pl.Int64, "employee": pl.String},
        orient="row",
    )


def report_compute(frames: Frames) -> Report:
    """Every analytics table of `frames`, with this business's store and staff names and margin."""
    return report_build(
        frames,
        as_of_day=clock.business_date(frames.as_of),
        gross_margin=settings.KOPILKA_GROSS_MARGIN,
        stores=store_names(),
        staff=staff_names(),
    )


def report_write(folder: Path, frames: Frames, report: Report) -> None:
    """The facts and every table as Parquet files in `folder`, which the pages read."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in FACTS:
        getattr(frames, name).write_parquet(folder / f"{name}.parquet")
    for name, table in report.tables.items():
        table.write_parquet(folder / f"{name}.parquet")


def snapshot_request(*, actor: Actor) -> Snapshot:
    """Ask the background worker for a fresh snapshot, unless one is already on its way."""
    pending = Snapshot.objects.pending().first()
    if pending is not None:
        return pending
    snapshot = Snapshot.objects.create(requested_at=clock.now())
    audit_record(
        actor=actor,
        action="analytics.snapshot_request",
        target_type="analytics.snapshot",
        target_id=snapshot.pk,
    )
    from kopilka.analytics.tasks import analytics_refresh  # the task module imports this one

    transaction.on_commit(lambda: analytics_refresh.enqueue(snapshot_id=snapshot.pk))
    return snapshot


def snapshot_run(*, snapshot_id: int | None = None, actor: Actor) -> Snapshot:
    """Compute every analytics table from the database and keep them in the snapshot.

    Without `snapshot_id` a new snapshot is made (the command line does this). Runs outside a
    transaction on purpose: it only reads, for many seconds on big data, and the snapshot row
    says "running" meanwhile. A failed run keeps its error; the dashboard keeps showing the
    last ready one.
    """
    as_of = clock.now()
    if snapshot_id is None:
        snapshot = Snapshot.objects.create(requested_at=as_of)
    else:
        snapshot = Snapshot.objects.get(pk=snapshot_id)
    snapshot.status, snapshot.as_of, snapshot.started_at = Snapshot.Status.RUNNING, as_of, as_of
    snapshot.save(update_fields=["status", "as_of", "started_at"])
    started = time.perf_counter()
    try:
        frames = frames_load(as_of=as_of)
        loaded = time.perf_counter() - started
        report = report_compute(frames)
        report_write(snapshot_dir(snapshot.pk), frames, report)
        seconds = {"load": round(loaded, 3)} | report.seconds
        seconds["total"] = round(time.perf_counter() - started, 3)
        snapshot.summary = json_safe(
            report.summary
            | {
                "rows": {"purchases": frames.purchases.height, "members": frames.members.height},
                "seconds": seconds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            }
        )
        snapshot.status = Snapshot.Status.READY
    except Exception:
        log.exception("analytics snapshot %s failed", snapshot.pk)
        snapshot.status = Snapshot.Status.FAILED
        snapshot.error = traceback.format_exc(limit=5)
    snapshot.finished_at = clock.now()
    snapshot.save(update_fields=["status", "summary", "error", "finished_at"])
    audit_record(
        actor=actor,
        action="analytics.snapshot",
        target_type="analytics.snapshot",
        target_id=snapshot.pk,
        data={"status": snapshot.status},
    )
    if snapshot.status == Snapshot.Status.READY:
        _prune_older(snapshot.pk)
    return snapshot


def _prune_older(latest_id: int) -> None:
    old = Snapshot.objects.filter(pk__lt=latest_id, status=Snapshot.Status.READY).order_by("-pk")[
        SNAPSHOTS_KEPT - 1 :
    ]
    for snapshot_id in list(old.values_list("pk", flat=True)):
        shutil.rmtree(snapshot_dir(snapshot_id), ignore_errors=True)
        Snapshot.objects.filter(pk=snapshot_id).delete()
