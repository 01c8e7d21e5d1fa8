"""Run in a child process: load the demo into DATABASE_URL, run the pipeline, save its tables.

Usage: DATABASE_URL=... python tests/analytics/pipeline_on.py OUT_DIR
"""

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import django

NOW = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)
DEMO = {"members": 300, "purchases": 6000, "months": 15, "seed": 7}


def main(out: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
    django.setup()
    from django.core.management import call_command

    from kopilka.analytics.frames import frames_load
    from kopilka.analytics.services import report_compute
    from kopilka.core import clock

    call_command("migrate", verbosity=0)
    with clock.frozen_at(NOW):
        call_command("load_demo", stdout=open(os.devnull, "w"), **DEMO)  # noqa: SIM115
    frames = frames_load(as_of=NOW)
    report = report_compute(frames)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.txt").write_text(repr(sorted(report.summary.items())))
    (out / "summary.json").write_text(json.dumps(report.summary, default=str))
    for name, table in report.tables.items():
        table.write_parquet(out / f"{name}.parquet")
    for name in ("purchases", "returns", "members", "adjustments"):
        fact = getattr(frames, name)  # rows come in no particular order from the database
        fact.sort(fact.columns).write_parquet(out / f"facts-{name}.parquet")


if __name__ == "__main__":
    sys.path[:0] = [str(Path(__file__).parents[2] / "src"), str(Path(__file__).parents[2])]
    main(Path(sys.argv[1]))
