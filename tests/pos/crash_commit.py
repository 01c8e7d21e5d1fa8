"""Run by test_crash.py in a separate process: commit a purchase through the API.

Mode "locked": the locked Python path, and this process SIGKILLs itself after the points were
written but before the transaction commits. Mode "one-statement": the usual path on PostgreSQL,
and the test kills this process while its one statement waits for the member's lock."""

import json
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

from kopilka.pos import fast_commit, services  # noqa: E402

original = services.plan_apply


def write_points_then_die(plan: object) -> object:
    result = original(plan)  # type: ignore[arg-type]
    os.kill(os.getpid(), signal.SIGKILL)  # mid-commit: redeem and earn written, nothing committed
    return result


mode, key, idempotency_key, body = sys.argv[1:5]
if mode == "locked":
    fast_commit.commit_in_one_statement = lambda **kwargs: None  # type: ignore[assignment]
    services.plan_apply = write_points_then_die  # type: ignore[assignment]
Client().post(
    "/api/v1/purchases",
    body,
    content_type="application/json",
    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key},
)
print(json.dumps({"error": "survived"}))
sys.exit(3)
