#!/usr/bin/env python
"""The analytics snapshot at scale: read from PostgreSQL, compute, store; then the pages' answer times.

    .venv/bin/python bench/analytics_data.py --recreate            # once: 1M members, 10M receipts
    .venv/bin/python bench/analytics_pipeline.py

Phases, one after another in this process (the way the background worker runs them):

1. `frames_load`: purchases, returns, members and point adjustments read over ADBC (binary COPY
   to Arrow), the purchases in two ranges of table blocks on two connections;
2. `report_build`: KPIs (last 30 days and the 30 before), monthly KPIs, stores and staff, RFM at
   the as-of day and 90 days earlier, cohorts, and the lifetime-value models (BG/NBD and
   Gamma-Gamma fitted twice: on everything, and on all but the last 13 weeks for the check);
3. writing the snapshot's Parquet files;
4. the staff pages and exports, requested through Django's test client as a logged-in manager,
   each twice (the first request of a worker reads the Parquet files, later ones hit its cache).

Prints one JSON object: rows, seconds per phase and step, the peak resident memory of the
process, and per page the status and milliseconds of the cold and the warm request. Every phase
also reports the CPU seconds other processes used meanwhile (`other_s`), so a busy machine shows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from timing import step

ROOT = Path(__file__).resolve().parents[1]
PAGES = (
    "/backoffice/analytics/",
    "/backoffice/analytics/?start=2026-01-01&end=2026-03-31&segment=at_risk",
    "/backoffice/analytics/rfm/",
    "/backoffice/analytics/cohorts/",
    "/backoffice/analytics/lifetime-value/",
    "/backoffice/analytics/lifetime-value/?segments=at_risk&p_alive_below=0.5&clv_at_least=3000",
    "/backoffice/analytics/kpis.json?start=2026-01-01&end=2026-03-31",
    "/backoffice/analytics/data/rfm_segments.json",
    "/backoffice/analytics/data/cohorts.csv",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/kopilka_analytics_bench",
    )
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
    os.environ["KOPILKA_ANALYTICS_DIR"] = tempfile.mkdtemp(prefix="kopilka-analytics-")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db.models import Max
    from django.test import Client

    from kopilka.analytics.frames import frames_load
    from kopilka.analytics.models import Snapshot
    from kopilka.analytics.services import report_compute, report_write, snapshot_dir
    from kopilka.core import clock
    from kopilka.pos.models import Purchase

    results: dict[str, Any] = {"database": args.database_url.rsplit("/", 1)[-1]}
    # The data's own "now": the midnight after its last receipt (generated data ends in the past).
    last = Purchase.objects.aggregate(last=Max("created_at"))["last"] or clock.now()
    as_of = clock.days_later_midnight(last, 1)
    results["as_of"] = as_of.isoformat()
    with step("read", results):
        frames = frames_load(as_of=as_of)
    results["rows"] = {
        "purchases": frames.purchases.height,
        "members": frames.members.height,
        "returns": frames.returns.height,
    }
    with step("compute", results):
        report = report_compute(frames)
    results["compute_steps_s"] = report.seconds
    results["clv"] = report.summary["clv"]
    snapshot = Snapshot.objects.create(
        requested_at=as_of,
        as_of=as_of,
        started_at=as_of,
        status=Snapshot.Status.READY,
        summary=json.loads(json.dumps(report.summary, default=str)),
    )
    with step("write", results):
        report_write(snapshot_dir(snapshot.pk), frames, report)
    # The budget covers reading plus KPIs, RFM and cohorts; the CLV fits have their own.
    results["kpi_rfm_cohorts_seconds"] = round(
        results["read"]["seconds"] + sum(v for k, v in report.seconds.items() if k != "clv"), 2
    )
    results["snapshot_seconds"] = round(
        sum(results[p]["seconds"] for p in ("read", "compute", "write")), 2
    )
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    del frames, report

    manager, _ = get_user_model().objects.get_or_create(
        username="bench-manager", defaults={"is_staff": True}
    )
    client = Client()
    client.force_login(manager)
    pages: dict[str, Any] = {}
    for url in PAGES:
        times = []
        for _attempt in range(2):
            started = time.perf_counter()
            with clock.frozen_at(as_of):  # the snapshot is fresh, as the worker just made it
                response = client.get(url)
            times.append(round((time.perf_counter() - started) * 1000))
        pages[url] = {"status": response.status_code, "cold_ms": times[0], "warm_ms": times[1]}
        print(f"{url}: {pages[url]}", file=sys.stderr)
    results["pages"] = pages
    Snapshot.objects.filter(pk=snapshot.pk).delete()
    results["snapshot_mb_on_disk"] = round(
        sum(f.stat().st_size for f in snapshot_dir(snapshot.pk).iterdir()) / 2**20
    )
    shutil.rmtree(os.environ["KOPILKA_ANALYTICS_DIR"])
    print(json.dumps(results, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
