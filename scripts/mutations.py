"""Hand-made mutations of the core code: does the suite catch each bug it is meant to catch?

Each mutation is one small change a person could make by mistake (a flipped comparison, a
missing lock, the wrong sort order). The script copies the tree to a temporary directory, applies
one mutation at a time there, runs the tests named for it (`pytest -x -q`, a database of its
own per run) and reports, as JSON on stdout, whether the tests failed ("caught") or passed
("survived"), with the score per area. A mutation whose old text is no longer in the file is
"stale" (the code moved on: update the mutation) and is not scored.

It never writes to the checkout it is run from: every edit goes to the copy, and the copy is
checked to lie outside the checkout before anything is written.

    .venv/bin/python scripts/mutations.py                  # all mutations, JSON on stdout
    .venv/bin/python scripts/mutations.py --list           # the mutations and whether they apply
    .venv/bin/python scripts/mutations.py --only engine-apportion-smallest-first ledger-fifo-by-id
    .venv/bin/python scripts/mutations.py --jobs 2 --output /tmp/mutations.json
    .venv/bin/python scripts/mutations.py --ref HEAD         # the last commit, not the working tree

Before the mutations, the named tests run once on the unmutated copy; tests that fail there
(someone's work in progress) are deselected in every mutation run and listed in the report, so
that they can't make a mutation look caught. Hypothesis runs with a fixed seed and no example
database, so a verdict is reproducible and doesn't depend on the runs before it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("src", "tests", "pyproject.toml", "manage.py")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kopilka_mut"

ENGINE = ("tests/program/test_engine.py",)
PROGRAM = ("tests/program/test_engine.py", "tests/program/test_services.py")
RETURNS = ("tests/pos/test_returns.py",)
PROPERTIES = ("tests/ledger/test_ledger_properties.py",)
LEDGER = ("tests/ledger/test_ledger.py", *RETURNS, *PROPERTIES)
PURCHASES = ("tests/api/test_purchases_api.py", "tests/pos/test_commit_paths.py")
COMMIT_PATHS = ("tests/pos/test_commit_paths.py",)
MEMBERS = ("tests/api/test_members_api.py", "tests/members/test_cards.py")
CONCURRENCY = ("tests/pos/test_concurrency.py",)

ENGINE_PY = "src/kopilka/program/engine.py"
LEDGER_PY = "src/kopilka/ledger/services.py"
SELECTORS_PY = "src/kopilka/ledger/selectors.py"
IDEMPOTENCY_PY = "src/kopilka/core/idempotency.py"
POS_PY = "src/kopilka/pos/services.py"
COMMIT_SQL = "src/kopilka/pos/migrations/0002_purchase_commit_function.py"
MEMBERS_PY = "src/kopilka/members/services.py"


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    description: str

    @property
    def area(self) -> str:
        if self.file == COMMIT_SQL:
            return "pos/0002 SQL commit"  # kopilka_purchase_commit, sent by pos/services.py
        path = self.file.removeprefix("src/kopilka/")
        if path.startswith(("program/", "ledger/")):
            return path.split("/")[0] + "/"
        return path


M = Mutation
MUTATIONS: list[Mutation] = [
    # --- program/ ---------------------------------------------------------------------------
    M(
        "engine-apportion-smallest-first",
        ENGINE_PY,
        "key=lambda i: (-shares[i][1], i)",
        "key=lambda i: (shares[i][1], i)",
        ENGINE,
        "_apportion hands the spare units to the smallest remainders first",
    ),
    M(
        "engine-apportion-ties-to-later",
        ENGINE_PY,
        "key=lambda i: (-shares[i][1], i)",
        "key=lambda i: (-shares[i][1], -i)",
        ENGINE,
        "_apportion breaks ties in favour of the later line",
    ),
    M(
        "engine-apportion-ignores-caps",
        ENGINE_PY,
        "room = [i for i in order if caps is None or parts[i] < caps[i]][:left]",
        "room = order[:left]",
        ENGINE,
        "_apportion gives a unit to a line already at its cap (points beyond whole roubles)",
    ),
    M(
        "engine-earn-floored-per-line",
        ENGINE_PY,
        "total = sum(payables) * rules.earn_rate_bp // EARN_DENOMINATOR",
        "total = sum(p * rules.earn_rate_bp // EARN_DENOMINATOR for p in payables)",
        ENGINE,
        "earn floored per line instead of once per receipt (loses up to a point a line)",
    ),
    M(
        "engine-line-amount-bankers-rounding",
        ENGINE_PY,
        "rounding=ROUND_HALF_UP",
        'rounding="ROUND_HALF_EVEN"',
        ENGINE,
        "line amounts rounded half-even instead of half-up",
    ),
    M(
        "engine-share-limit-off-by-one",
        ENGINE_PY,
        "share_limit = amount * rules.max_redeem_share_bp // (BP * POINT_VALUE)",
        "share_limit = amount * rules.max_redeem_share_bp // (BP * POINT_VALUE) + 1",
        ENGINE,
        "the redeem share limit allows one point more than 30 %",
    ),
    M(
        "engine-caps-round-up",
        ENGINE_PY,
        "caps = [a // POINT_VALUE for a in amounts]",
        "caps = [-(-a // POINT_VALUE) for a in amounts]",
        ENGINE,
        "a line's redeem cap rounds its amount up to a whole rouble instead of down",
    ),
    M(
        "engine-insufficient-boundary",
        ENGINE_PY,
        "if redeem > member.available:",
        "if redeem >= member.available:",
        ENGINE,
        "redeeming exactly the available points is refused",
    ),
    M(
        "engine-limit-boundary",
        ENGINE_PY,
        "if redeem > max_redeemable:",
        "if redeem >= max_redeemable:",
        ENGINE,
        "redeeming exactly the maximum is refused",
    ),
    M(
        "engine-max-ignores-balance",
        ENGINE_PY,
        "max(0, min(member.available, share_limit, lines_limit))",
        "max(0, min(share_limit, lines_limit))",
        ENGINE,
        '"max" ignores the member\'s balance',
    ),
    M(
        "engine-pending-counted-available",
        ENGINE_PY,
        "available_after = member.available - points + (0 if pending else earn)",
        "available_after = member.available - points + earn",
        ENGINE,
        "points that wait a pending period are shown as available at once",
    ),
    M(
        "engine-earn-on-amount",
        ENGINE_PY,
        "line_earn = earn_for_payable(payables, rules) if member",
        "line_earn = earn_for_payable(amounts, rules) if member",
        ENGINE,
        "points earned on the amount before redemption instead of what was paid",
    ),
    M(
        "engine-anonymous-earns",
        ENGINE_PY,
        "line_earn = earn_for_payable(payables, rules) if member is not None else [0] * len(amounts)",
        "line_earn = earn_for_payable(payables, rules)",
        ENGINE,
        "a receipt without a member card earns points",
    ),
    M(
        "engine-full-share-refused",
        ENGINE_PY,
        "if self.max_redeem_share_bp > BP:",
        "if self.max_redeem_share_bp >= BP:",
        ENGINE,
        "rules refuse a 100 % redeem share",
    ),
    M(
        "program-pending-days-dropped",
        "src/kopilka/program/selectors.py",
        "pending_days=row.pending_days,",
        "pending_days=0,",
        PURCHASES,
        "the program's pending period is not read from the settings",
    ),
    M(
        "program-cache-never-cleared",
        "src/kopilka/program/selectors.py",
        "    global _cache\n    _cache = None",
        "    pass",
        COMMIT_PATHS,
        "rules_cache_clear does nothing: a settings change waits for the cache to expire",
    ),
    M(
        "program-settings-not-validated",
        "src/kopilka/program/services.py",
        "    row.full_clean()\n",
        "",
        PROGRAM,
        "program_settings_update saves values the model forbids (negative days, share > 100 %)",
    ),
    # --- ledger/ ----------------------------------------------------------------------------
    M(
        "ledger-expiry-a-day-early",
        LEDGER_PY,
        "clock.days_later_midnight(at, rules.expiry_days + 1)",
        "clock.days_later_midnight(at, rules.expiry_days)",
        LEDGER,
        "points expire at the start of their last valid day instead of its end",
    ),
    M(
        "ledger-pending-a-day-late",
        LEDGER_PY,
        "else clock.days_later_midnight(at, rules.pending_days)",
        "else clock.days_later_midnight(at, rules.pending_days + 1)",
        LEDGER,
        "pending points become available a day late",
    ),
    M(
        "ledger-fifo-by-id",
        LEDGER_PY,
        "AND expires_at > %s{pending} ORDER BY expires_at, id",
        "AND expires_at > %s{pending} ORDER BY id",
        LEDGER,
        "spending takes the oldest lot first instead of the soonest expiring",
    ),
    M(
        "ledger-open-lots-pending-filter",
        LEDGER_PY,
        '" AND available_at <= %s"',
        '" AND (available_at <= %s OR TRUE)"',
        LEDGER,
        "a redemption may spend pending points",
    ),
    M(
        "ledger-redeem-includes-pending",
        LEDGER_PY,
        "        lots = _open_lots(member_id, at, include_pending=False)",
        "        lots = _open_lots(member_id, at, include_pending=True)",
        LEDGER,
        "purchase redemption spends pending lots",
    ),
    M(
        "ledger-open-lots-expiry-boundary",
        LEDGER_PY,
        "AND expires_at > %s{pending}",
        "AND expires_at >= %s{pending}",
        LEDGER,
        "a lot can still be spent at the very moment it expires",
    ),
    M(
        "ledger-spend-overdraws-lot",
        LEDGER_PY,
        "take = min(lot.remaining, left)",
        "take = left",
        LEDGER,
        "a spend takes more from a lot than it holds",
    ),
    M(
        "ledger-balance-sign",
        LEDGER_PY,
        "SET points_balance = points_balance + %s",
        "SET points_balance = points_balance - %s",
        LEDGER,
        "the cached balance moves the wrong way",
    ),
    M(
        "ledger-unbalanced-allowed",
        LEDGER_PY,
        "    if sum(amount for _account, amount in legs) != 0:",
        "    if False:",
        ("tests/ledger/test_ledger.py",),
        "a transfer whose postings do not sum to zero is written",
    ),
    M(
        "ledger-lock-omitted",
        LEDGER_PY,
        'lock = " FOR UPDATE" if connection.features.has_select_for_update else ""',
        'lock = ""',
        CONCURRENCY,
        "the member row is read without FOR UPDATE: parallel redemptions overdraw",
    ),
    M(
        "ledger-return-other-lots-first",
        LEDGER_PY,
        "lots=[*earn_lots, *refund_lot, *others],",
        "lots=[*others, *earn_lots, *refund_lot],",
        RETURNS,
        "a return takes back other lots' points before the purchase's own",
    ),
    M(
        "ledger-return-refund-last",
        LEDGER_PY,
        "lots=[*earn_lots, *refund_lot, *others],",
        "lots=[*earn_lots, *others, *refund_lot],",
        RETURNS,
        "a return takes back other points before its own refund",
    ),
    M(
        "ledger-refund-fresh-expiry",
        LEDGER_PY,
        "expires_at=latest or lot_dates(at=at, rules=rules)[1],",
        "expires_at=lot_dates(at=at, rules=rules)[1],",
        RETURNS,
        "refunded points get a fresh expiry instead of keeping the original",
    ),
    M(
        "ledger-refund-earliest-expiry",
        LEDGER_PY,
        "from django.db.models import Max",
        "from django.db.models import Min as Max",
        RETURNS,
        "refunded points expire with the earliest lot that paid, not the latest",
    ),
    M(
        "ledger-collectable-without-refund",
        LEDGER_PY,
        "refund + sum(lot.remaining for lot in earn_lots)",
        "sum(lot.remaining for lot in earn_lots)",
        RETURNS,
        "a return does not count its own refund as points it can take back",
    ),
    M(
        "ledger-adjust-counts-pending",
        LEDGER_PY,
        "available, _pending = member_points(member_id, at)\n        if -points > available:",
        "available, _pending = member_points(member_id, at)\n        if -points > available + _pending:",
        LEDGER,
        "a negative adjustment may take pending points",
    ),
    M(
        "ledger-adjust-without-staff",
        LEDGER_PY,
        "    if actor.user_id is None:",
        "    if False:",
        LEDGER,
        "points adjusted without a staff user",
    ),
    M(
        "ledger-expire-due-boundary",
        LEDGER_PY,
        "PointLot.objects.filter(member_id=member_id, remaining__gt=0, expires_at__lte=at)",
        "PointLot.objects.filter(member_id=member_id, remaining__gt=0, expires_at__lt=at)",
        LEDGER,
        "the expiry run skips lots that expire at the very moment it runs",
    ),
    M(
        "ledger-available-boundary",
        SELECTORS_PY,
        "CASE WHEN available_at <= %s THEN remaining",
        "CASE WHEN available_at < %s THEN remaining",
        LEDGER,
        "points earned this instant are counted as pending",
    ),
    M(
        "ledger-balance-expiry-boundary",
        SELECTORS_PY,
        "AND remaining > 0 AND expires_at > %s",
        "AND remaining > 0 AND expires_at >= %s",
        LEDGER,
        "the balance counts points at the moment they expire",
    ),
    # The random histories alone must notice a service that refuses what the rules allow.
    M(
        "ledger-debits-half-refused",
        LEDGER_PY,
        "        if -points > available:",
        "        if -points > available // 2:",
        PROPERTIES,
        "a debit of more than half the available points is refused (random histories only)",
    ),
    M(
        "pos-repeat-returns-refused",
        POS_PY,
        "    if errors:\n",
        "    if errors or returned_before:\n",
        PROPERTIES,
        "a second return from the same purchase is refused (random histories only)",
    ),
    # --- core/idempotency.py ----------------------------------------------------------------
    M(
        "idempotency-hash-not-compared",
        IDEMPOTENCY_PY,
        "if record.request_hash != request_hash:",
        "if False:",
        PURCHASES,
        "a key reused with another body replays the first answer instead of a conflict",
    ),
    M(
        "idempotency-response-not-stored",
        IDEMPOTENCY_PY,
        "        _store_response(record_id, status, body)\n",
        "",
        (*PURCHASES, *RETURNS),
        "the first answer is not stored, so a retry gets 'in progress'",
    ),
    M(
        "idempotency-fingerprint-first-part",
        IDEMPOTENCY_PY,
        "canonical = json.dumps(parts, ",
        "canonical = json.dumps(parts[:1], ",
        (*PURCHASES, *RETURNS),
        "the request hash covers only the first part (the kind), not the body",
    ),
    M(
        "idempotency-refusal-not-stored",
        IDEMPOTENCY_PY,
        "            status, body = refusal.status, refusal.body()",
        "            raise",
        (*PURCHASES, "tests/api/test_boundaries.py"),
        "a refusal is not stored: a retry may get another outcome for the same key",
    ),
    M(
        "idempotency-work-without-savepoint",
        IDEMPOTENCY_PY,
        "            with transaction.atomic():\n                status, body = work()",
        "            if True:\n                status, body = work()",
        (*PURCHASES, "tests/api/test_boundaries.py"),
        "the work runs outside a savepoint: a refusal's half-done writes stay, or poison the store",
    ),
    M(
        "idempotency-claim-ignored",
        IDEMPOTENCY_PY,
        "        if record_id is None:\n",
        "        if record_id is None and False:\n",
        PURCHASES,
        "a key already claimed runs the work again (a retry books the purchase twice)",
    ),
    # --- pos/services.py --------------------------------------------------------------------
    M(
        "pos-key-scope-shared",
        POS_PY,
        'return f"terminal:{terminal.id}"',
        'return "terminal"',
        (*PURCHASES, *RETURNS, "tests/api/test_boundaries.py"),
        "Idempotency-Keys shared by all terminals: one till gets another's stored answer",
    ),
    M(
        "pos-share-rounds-half-up",
        POS_PY,
        'to_integral_value(rounding="ROUND_FLOOR")',
        'to_integral_value(rounding="ROUND_HALF_UP")',
        RETURNS,
        "return shares rounded half-up instead of down",
    ),
    M(
        "pos-share-not-cumulative",
        POS_PY,
        "earn_reversed=_share(line.earn_points, after, line.quantity)\n"
        "                - _share(line.earn_points, before, line.quantity),",
        "earn_reversed=_share(line.earn_points, quantity, line.quantity),",
        RETURNS,
        "take-back shares computed per return, not on cumulative quantities",
    ),
    M(
        "pos-refund-share-off-by-one",
        POS_PY,
        "redeem_refunded=_share(line.redeem_points, after, line.quantity)",
        "redeem_refunded=_share(line.redeem_points, after, line.quantity) + 1",
        RETURNS,
        "a return refunds one point more than its share",
    ),
    M(
        "pos-return-room-off-by-one",
        POS_PY,
        "room = line.quantity - returned_before[line.pk]",
        "room = line.quantity - returned_before[line.pk] + 1",
        RETURNS,
        "one item more than bought can be returned",
    ),
    M(
        "pos-returned-before-overwritten",
        POS_PY,
        "returned_before[line_id] += quantity",
        "returned_before[line_id] = quantity",
        RETURNS,
        "only the last earlier return of a line is counted",
    ),
    M(
        "pos-return-row-not-corrected",
        POS_PY,
        "            PurchaseReturn.objects.filter(pk=record.pk).update(\n"
        "                earn_reversed=taken, earn_not_recovered=take_back - taken\n"
        "            )\n",
        "",
        RETURNS,
        "the return row keeps the full take-back while the answer shows the corrected figure",
    ),
    M(
        "pos-return-lock-omitted",
        POS_PY,
        '        ledger.member_lock(head["member_id"])',
        "        pass",
        (*RETURNS, *CONCURRENCY),
        "a return does not lock the member before moving points",
    ),
    M(
        "pos-commit-receipt-unchecked",
        POS_PY,
        "    receipt_check(terminal, receipt)\n    now = clock.now()\n    rules = current_rules()\n"
        "    member = None",
        "    now = clock.now()\n    rules = current_rules()\n    member = None",
        (*PURCHASES, "tests/api/test_bad_input.py"),
        "the locked commit skips the store and amount checks (another store, a huge receipt)",
    ),
    M(
        "pos-receipt-limit-boundary",
        POS_PY,
        "if amount > settings.KOPILKA_MAX_RECEIPT_AMOUNT:",
        "if amount >= settings.KOPILKA_MAX_RECEIPT_AMOUNT:",
        ("tests/api/test_bad_input.py",),
        "a receipt of exactly the maximum amount is refused",
    ),
    M(
        "pos-return-other-store",
        POS_PY,
        "mine = Purchase.objects.filter(pk=purchase_id, store_id=terminal.store_id)",
        "mine = Purchase.objects.filter(pk=purchase_id)",
        (*RETURNS, "tests/api/test_boundaries.py"),
        "a terminal returns another store's purchase",
    ),
    M(
        "pos-commit-inactive-member",
        POS_PY,
        "        _check_active(member)\n        snapshot = engine.MemberSnapshot(member_id=member.pk,"
        " available=available, pending=pending)\n    quote = engine.quote(receipt.lines, snapshot,"
        " rules, receipt.redeem)\n    purchase = _purchase(",
        "        snapshot = engine.MemberSnapshot(member_id=member.pk,"
        " available=available, pending=pending)\n    quote = engine.quote(receipt.lines, snapshot,"
        " rules, receipt.redeem)\n    purchase = _purchase(",
        ("tests/members/test_cards.py", *PURCHASES),
        "a blocked member earns and spends on the locked path",
    ),
    M(
        "pos-one-statement-stale-available",
        POS_PY,
        '"available": snapshot.available if snapshot else 0,',
        '"available": 0,',
        COMMIT_PATHS,
        "the one-statement commit never matches the balance, so every purchase falls back",
    ),
    M(
        "pos-kp002-not-handed-over",
        POS_PY,
        '_LOCKED_PATH_DECIDES = {"KP001", "KP002", "23505"}',
        '_LOCKED_PATH_DECIDES = {"KP001", "23505"}',
        COMMIT_PATHS,
        "a member changed since the read is a server error instead of the locked path",
    ),
    M(
        "pos-duplicate-receipt-not-handed-over",
        POS_PY,
        '_LOCKED_PATH_DECIDES = {"KP001", "KP002", "23505"}',
        '_LOCKED_PATH_DECIDES = {"KP001", "KP002"}',
        PURCHASES,
        "a used receipt number is a server error instead of duplicate_receipt",
    ),
    M(
        "sql-fifo-by-id",
        COMMIT_SQL,
        "             ORDER BY expires_at, id\n        LOOP",
        "             ORDER BY id\n        LOOP",
        COMMIT_PATHS,
        "kopilka_purchase_commit spends lots by id instead of expiry",
    ),
    M(
        "sql-spends-pending",
        COMMIT_SQL,
        "               AND available_at <= v_at\n             ORDER BY expires_at, id",
        "             ORDER BY expires_at, id",
        COMMIT_PATHS,
        "kopilka_purchase_commit spends pending lots",
    ),
    M(
        "sql-available-unchecked",
        COMMIT_SQL,
        "           OR v_available <> (p->>'available')::bigint\n",
        "",
        COMMIT_PATHS,
        "kopilka_purchase_commit misses a change of the available points since the read",
    ),
    M(
        "sql-pending-unchecked",
        COMMIT_SQL,
        "           OR v_pending <> (p->>'pending')::bigint THEN",
        "           THEN",
        COMMIT_PATHS,
        "kopilka_purchase_commit misses a change of the pending points since the read",
    ),
    M(
        "sql-spend-overdraws-lot",
        COMMIT_SQL,
        "v_take := least(v_lot.remaining, v_left);",
        "v_take := v_left;",
        COMMIT_PATHS,
        "kopilka_purchase_commit takes more from a lot than it holds",
    ),
    # --- members/services.py ----------------------------------------------------------------
    M(
        "members-sms-consent-counts",
        MEMBERS_PY,
        "if not consents.personal_data:",
        "if not (consents.personal_data or consents.sms_marketing):",
        MEMBERS,
        "marketing-SMS consent counts as the personal-data consent (152-FZ)",
    ),
    M(
        "members-consent-unchecked",
        MEMBERS_PY,
        "if not consents.personal_data:",
        "if False:",
        MEMBERS,
        "a member is enrolled without personal-data consent",
    ),
    M(
        "members-consent-rows-swapped",
        MEMBERS_PY,
        "(Consent.Purpose.MARKETING, Consent.Channel.SMS, choices.sms_marketing),",
        "(Consent.Purpose.MARKETING, Consent.Channel.SMS, choices.email_marketing),",
        MEMBERS,
        "the SMS consent row records the email choice",
    ),
    M(
        "members-phone-not-normalised",
        MEMBERS_PY,
        "    phone = normalize_phone(phone)\n",
        "    phone = phone.strip()\n",
        MEMBERS,
        "phones stored as typed, not in E.164",
    ),
    M(
        "members-card-taken-unchecked",
        MEMBERS_PY,
        "if card_number and Card.objects.filter(number=card_number).exists():",
        "if False:",
        MEMBERS,
        "a taken card number is answered as member_exists, not card_taken",
    ),
    M(
        "members-replace-blocked-card",
        MEMBERS_PY,
        "    if card.status == Card.Status.BLOCKED:\n        raise Conflict",
        "    if False:\n        raise Conflict",
        MEMBERS,
        "a blocked card can be replaced again",
    ),
    M(
        "members-replaced-card-stays-active",
        MEMBERS_PY,
        "status=Card.Status.BLOCKED, blocked_at=now, replaced_by=replacement",
        "status=Card.Status.ACTIVE, blocked_at=now, replaced_by=replacement",
        MEMBERS,
        "a replaced (lost) card keeps working",
    ),
    M(
        "members-block-does-nothing",
        MEMBERS_PY,
        "update(status=Card.Status.BLOCKED, blocked_at=clock.now())",
        "update(blocked_at=clock.now())",
        MEMBERS,
        "blocking a card leaves it active",
    ),
]


@dataclass
class Result:
    mutation: Mutation
    status: str  # caught, survived, stale, ambiguous, timeout, error
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        m = self.mutation
        return {
            "id": m.id,
            "area": m.area,
            "file": m.file,
            "description": m.description,
            "tests": list(m.tests),
            "status": self.status,
            "seconds": round(self.seconds, 1),
            "caught_by": self.failed,
            **({"detail": self.detail} if self.detail else {}),
        }


def _inside(path: Path, parent: Path) -> bool:
    return path.resolve().is_relative_to(parent.resolve())


class Copy:
    """A copy of the tree in a temporary directory, the only place a mutation is applied."""

    def __init__(self, base: Path, name: str, ref: str | None = None) -> None:
        self.dir = base / name
        if _inside(self.dir, ROOT) or _inside(ROOT, self.dir):
            raise SystemExit(f"refusing to work in {self.dir}: it overlaps the checkout {ROOT}")
        if ref is not None:
            # A commit's files, read from git without touching the checkout or its worktrees.
            archive = subprocess.run(
                ["git", "archive", "--format=tar", ref, "--", *COPIED],
                cwd=ROOT,
                capture_output=True,
                check=True,
            ).stdout
            self.dir.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(self.dir, filter="data")
            return
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
        for name_ in COPIED:
            source = ROOT / name_
            if source.is_dir():
                shutil.copytree(source, self.dir / name_, ignore=ignore)
            else:
                self.dir.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, self.dir / name_)

    def path(self, relative: str) -> Path:
        target = self.dir / relative
        if not _inside(target, self.dir) or _inside(target, ROOT):
            raise SystemExit(f"refusing to write {target}: outside the copy")
        return target


def _database_url(base_url: str, suffix: str) -> str:
    parts = urlsplit(base_url)
    name = parts.path.lstrip("/") or "kopilka_mut"
    return urlunsplit(parts._replace(path=f"/{name}_{suffix}"))


def _pytest(
    copy: Copy, tests: list[str], database_url: str, deselect: list[str], *, stop: bool, seed: int
) -> tuple[int, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        # The copy's code, not the checkout's (the editable install points at the checkout).
        "PYTHONPATH": os.pathsep.join([str(copy.dir / "src"), str(copy.dir)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfE",
        f"--hypothesis-seed={seed}",
        *(["-x"] if stop else []),
        *[f"--deselect={node}" for node in deselect],
        *tests,
    ]
    shutil.rmtree(copy.dir / ".hypothesis", ignore_errors=True)
    try:
        done = subprocess.run(
            command, cwd=copy.dir, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
    finally:
        shutil.rmtree(copy.dir / ".hypothesis", ignore_errors=True)
    return done.returncode, done.stdout + done.stderr


_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
TIMEOUT = 900.0


def _check_imports(copy: Copy) -> None:
    """The runs must import the copy's code: prove it once before trusting any verdict."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy.dir / "src"), str(copy.dir)])}
    found = subprocess.run(
        [sys.executable, "-c", "import kopilka; print(kopilka.__file__)"],
        cwd=copy.dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not _inside(Path(found), copy.dir):
        raise SystemExit(f"the copy would test {found}, not its own code")


def run_one(
    mutation: Mutation, copy: Copy, number: int, args: argparse.Namespace, deselect: list[str]
) -> Result:
    target = copy.path(mutation.file)
    original = target.read_text()
    count = original.count(mutation.old)
    if count == 0:
        return Result(mutation, "stale", detail="the old text is no longer in the file")
    if count > 1:
        return Result(mutation, "ambiguous", detail=f"the old text occurs {count} times")
    tests = [t for t in mutation.tests if (copy.dir / t).exists()]
    if not tests:
        return Result(mutation, "error", detail="none of its test files exists")
    started = time.monotonic()
    target.write_text(original.replace(mutation.old, mutation.new))
    try:
        url = _database_url(args.database_url, f"{number:02d}")
        code, output = _pytest(copy, tests, url, deselect, stop=True, seed=args.seed)
    except subprocess.TimeoutExpired:
        return Result(mutation, "timeout", time.monotonic() - started)
    finally:
        target.write_text(original)
    seconds = time.monotonic() - started
    if code == 0:
        return Result(mutation, "survived", seconds)
    if code in (1, 2) and (failed := _FAILED.findall(output)):
        return Result(mutation, "caught", seconds, failed)
    tail = "\n".join(output.strip().splitlines()[-5:])
    return Result(mutation, "caught", seconds, detail=f"pytest exit {code}: {tail}")


def score(results: list[Result]) -> dict[str, dict[str, object]]:
    areas: dict[str, dict[str, object]] = {}
    for result in results:
        area = areas.setdefault(
            result.mutation.area, {"caught": 0, "survived": 0, "not_run": 0, "score": None}
        )
        if result.status in ("caught", "timeout"):
            area["caught"] = int(str(area["caught"])) + 1
        elif result.status == "survived":
            area["survived"] = int(str(area["survived"])) + 1
        else:
            area["not_run"] = int(str(area["not_run"])) + 1
    for area in areas.values():
        scored = int(str(area["caught"])) + int(str(area["survived"]))
        area["score"] = round(100 * int(str(area["caught"])) / scored, 1) if scored else None
    return dict(sorted(areas.items()))


def _source(path: str, ref: str | None) -> str:
    if ref is None:
        return (ROOT / path).read_text()
    shown = subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return shown.stdout


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", nargs="+", metavar="ID", help="run these mutations only")
    parser.add_argument("--list", action="store_true", help="list the mutations, run nothing")
    parser.add_argument("--jobs", type=int, default=1, help="copies run side by side (default 1)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument("--output", type=Path, help="also write the JSON report here")
    parser.add_argument(
        "--ref", help="test this commit's files (git archive) instead of the working tree's"
    )
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per run")
    args = parser.parse_args()
    globals()["TIMEOUT"] = args.timeout

    ids = [m.id for m in MUTATIONS]
    if len(set(ids)) != len(ids):
        raise SystemExit("mutation ids must be unique")
    chosen = [m for m in MUTATIONS if not args.only or m.id in args.only]
    if args.only and (unknown := set(args.only) - set(ids)):
        raise SystemExit(f"unknown mutations: {sorted(unknown)}")
    if args.list:
        for m in chosen:
            found = _source(m.file, args.ref).count(m.old)
            state = {0: "stale", 1: "applies"}.get(found, f"ambiguous ({found})")
            print(f"{m.id:40} {m.area:22} {state:10} {m.description}")
        return 0

    started_at = datetime.now(UTC)
    # What the copy is taken from, and whether it had uncommitted changes.
    commit = _git("rev-parse", "--short", args.ref or "HEAD")
    dirty = args.ref is None and bool(_git("status", "--porcelain", "--", *COPIED))
    with tempfile.TemporaryDirectory(prefix="kopilka-mutations-") as base:
        copies = [Copy(Path(base), f"copy{n}", args.ref) for n in range(max(1, args.jobs))]
        _check_imports(copies[0])
        tests = sorted({t for m in chosen for t in m.tests if (copies[0].dir / t).exists()})
        print(f"baseline: {len(tests)} test files on the unmutated copy", file=sys.stderr)
        code, output = _pytest(
            copies[0],
            tests,
            _database_url(args.database_url, "base"),
            [],
            stop=False,
            seed=args.seed,
        )
        if code not in (0, 1):
            print(output, file=sys.stderr)
            raise SystemExit(f"the baseline run did not complete (pytest exit {code})")
        failed_once = sorted(set(_FAILED.findall(output)))
        deselect: list[str] = []
        if failed_once:
            # Run them again alone: a test that fails twice is broken in the tree (someone's
            # work in progress) and would make every mutation look caught; one that passes
            # alone was disturbed by the load and stays in.
            _code, again = _pytest(
                copies[0],
                failed_once,
                _database_url(args.database_url, "base"),
                [],
                stop=False,
                seed=args.seed,
            )
            deselect = sorted(set(_FAILED.findall(again)) & set(failed_once))
            print(f"baseline failures: {failed_once}; deselected: {deselect}", file=sys.stderr)
        baseline = {
            "test_files": tests,
            "failed_twice_deselected": deselect,
            "failed_once_kept": sorted(set(failed_once) - set(deselect)),
            "failures": [line for line in output.splitlines() if _FAILED.match(line)],
        }

        def work(item: tuple[int, Mutation]) -> Result:
            number, mutation = item
            copy = copies[number % len(copies)]
            result = run_one(mutation, copy, number, args, deselect)
            print(f"{result.status:9} {result.seconds:6.1f}s  {mutation.id}", file=sys.stderr)
            return result

        # One copy per job: mutations sharing a copy run one after another.
        lanes: list[list[tuple[int, Mutation]]] = [[] for _ in copies]
        for number, mutation in enumerate(chosen, start=1):
            lanes[number % len(copies)].append((number, mutation))
        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            done = pool.map(lambda lane: [work(item) for item in lane], lanes)
            by_id = {r.mutation.id: r for lane in done for r in lane}
    results = [by_id[m.id] for m in chosen]
    scored = [r for r in results if r.status in ("caught", "survived", "timeout")]
    caught = sum(r.status != "survived" for r in scored)
    report = {
        "command": " ".join(["scripts/mutations.py", *sys.argv[1:]]),
        "date": started_at.isoformat(timespec="seconds"),
        "commit": commit,
        "uncommitted_changes": dirty,
        "hypothesis_seed": args.seed,
        "baseline": baseline,
        "total": {
            "mutations": len(results),
            "caught": caught,
            "survived": len(scored) - caught,
            "not_run": len(results) - len(scored),
            "score": round(100 * caught / len(scored), 1) if scored else None,
        },
        "areas": score(results),
        "mutations": [r.as_json() for r in results],
    }
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
