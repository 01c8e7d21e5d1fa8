"""Idempotency keys: a retried request returns the first response and writes nothing.

The key is claimed with an INSERT inside the caller's transaction. A concurrent request with
the same key blocks on the unique index until the first one commits (then it replays the
stored response) or rolls back (then it does the work itself). A process killed mid-request
rolls back its claim with everything else, so a retry starts clean.
"""

import hashlib
import json
from collections.abc import Callable

from django.db import connection, transaction

from kopilka.core import clock
from kopilka.core.errors import Conflict
from kopilka.core.models import IdempotencyRecord


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class RequestInProgress(Conflict):
    code = "request_in_progress"


def request_fingerprint(*parts: object) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(*, scope: str, key: str, request_hash: str) -> int | None:
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, key, request_hash, created_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (scope, key) DO NOTHING RETURNING id",
            [scope, key, request_hash, clock.now()],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _store_response(record_id: int, status: int, body: dict[str, object]) -> None:
    table = IdempotencyRecord._meta.db_table
    response = IdempotencyRecord._meta.get_field("response").get_db_prep_save(body, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status_code = %s, response = %s WHERE id = %s",
            [status, response, record_id],
        )


def run_idempotent(
    *, scope: str, key: str, request_hash: str, work: Callable[[], tuple[int, dict[str, object]]]
) -> tuple[int, dict[str, object]]:
    """Run `work` once per (scope, key); replay its (status, body) for the same request."""
    with transaction.atomic():
        record_id = _claim(scope=scope, key=key, request_hash=request_hash)
        if record_id is None:
            record = IdempotencyRecord.objects.get(scope=scope, key=key)
            if record.request_hash != request_hash:
                raise IdempotencyConflict(
                    "This Idempotency-Key was already used with a different request."
                )
            if record.status_code is None or record.response is None:
                raise RequestInProgress("A request with this Idempotency-Key is still running.")
            return record.status_code, record.response
        status, body = work()
        _store_response(record_id, status, body)
        return status, body
