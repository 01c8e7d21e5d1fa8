"""Idempotency keys: one outcome per key, replayed to every retry.

The first outcome of a key is stored and replayed for every later copy of the request: a
success, or a business refusal (a `DomainError` from the work: insufficient points, member not
found, duplicate receipt ...), so a till that retries after a timeout is never told "refused"
about a purchase that went through, nor the reverse. A request that could not be read at all
(malformed body, invalid fields) never reaches the work and is not stored.

The key is claimed with an INSERT inside the caller's transaction. A concurrent request with
the same key blocks on the unique index until the first one commits (then it replays the
stored outcome) or rolls back (then it does the work itself). The work runs in a savepoint, so
a refusal leaves nothing of its own behind but the stored answer. A process killed mid-request
rolls back its claim with everything else, so a retry starts clean.
"""

import hashlib
import json
import re
from collections.abc import Callable

from django.db import connection, transaction
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.errors import Conflict, DomainError
from kopilka.core.models import IdempotencyRecord


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class RequestInProgress(Conflict):
    code = "request_in_progress"


class FormExpired(DomainError):
    """A page's form without its own key: rendered before a deploy, or tampered with."""

    code = "form_expired"
    status = 400


def form_key(value: str, message: str) -> str:
    """The key a page renders into its form (`uuid4().hex`), so that sending that form twice
    (a double tap, a reload) has one outcome; FormExpired with `message` when it is not one."""
    if not re.fullmatch(r"[0-9a-f]{32}", value):
        raise FormExpired(message)
    return value


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
    """Run `work` once per (scope, key) and return its (status, body), or the refusal it raised
    as (status, error body); every later call with the same request replays that outcome."""
    with transaction.atomic():
        record_id = _claim(scope=scope, key=key, request_hash=request_hash)
        if record_id is None:
            record = IdempotencyRecord.objects.get(scope=scope, key=key)
            if record.request_hash != request_hash:
                raise IdempotencyConflict(
                    _("This Idempotency-Key was already used with a different request."),
                    fields={"Idempotency-Key": _("Use a new key for a new request.")},
                )
            if record.status_code is None or record.response is None:
                raise RequestInProgress(
                    _("A request with this Idempotency-Key is still running; retry shortly.")
                )
            return record.status_code, record.response
        try:
            with transaction.atomic():
                status, body = work()
        except DomainError as refusal:
            status, body = refusal.status, refusal.body()
        _store_response(record_id, status, body)
        return status, body
