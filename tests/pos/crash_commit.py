"""Run by test_crash.py in a separate process: commit a purchase through the API and SIGKILL this
process after the points were written but before the transaction commits."""

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

from kopilka.ledger import services as ledger  # noqa: E402

original = ledger.purchase_points_in_transaction


def write_points_then_die(**kwargs: object) -> object:
    result = original(**kwargs)  # type: ignore[arg-type]
    os.kill(os.getpid(), signal.SIGKILL)  # mid-commit: redeem and earn written, nothing committed
    return result


ledger.purchase_points_in_transaction = write_points_then_die  # type: ignore[assignment]

key, idempotency_key, body = sys.argv[1], sys.argv[2], sys.argv[3]
Client().post(
    "/api/v1/purchases",
    body,
    content_type="application/json",
    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key},
)
print(json.dumps({"error": "survived"}))
sys.exit(3)
