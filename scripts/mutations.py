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
COPIED = ("src", "tests", "pyproject.toml", "manage.py", "README.md")  # a test reads the README
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kopilka_mut"

ENGINE = (
    "tests/program/test_engine.py",
    "tests/program/test_engine_modes.py",
    "tests/program/test_engine_properties.py",
    "tests/program/test_engine_mutants.py",
)
DOCUMENT = ("tests/program/test_document.py",)
VERSIONS = (
    "tests/program/test_services.py",
    "tests/program/test_versions.py",
    "tests/program/test_version_cache.py",
)
RETURNS = (
    "tests/pos/test_returns.py",
    "tests/pos/test_second_return.py",
    "tests/pos/test_return_spend.py",
)
PROPERTIES = ("tests/ledger/test_ledger_properties.py",)
MEMORY = ("tests/ledger/test_memory_refunds.py", "tests/ledger/test_memory_ledger.py")
STATE = ("tests/ledger/test_state.py",)
PLAN = ("tests/ledger/test_plan.py",)
# Fast files first: `pytest -x` stops at the first failure.
LEDGER = (*PLAN, "tests/ledger/test_ledger.py", *STATE, *RETURNS, *MEMORY, *PROPERTIES)
COMMIT_PATHS = ("tests/pos/test_commit_paths.py",)
PROGRAM_RULES = (
    "tests/pos/test_program_rules.py",
    "tests/pos/test_rule_limits_store_day.py",
    "tests/pos/test_offline_receipts.py",
    "tests/pos/test_monthly_limits.py",
    "tests/pos/test_accumulating_paths.py",
)
CONCURRENCY = ("tests/pos/test_concurrency.py",)
PURCHASES = ("tests/api/test_purchases_api.py", *COMMIT_PATHS)
POS = (*PURCHASES, *RETURNS, *PROGRAM_RULES)
CARDS = ("tests/members/test_cards.py",)
GUARD = ("tests/pos/test_fast_commit_guard.py",)
CLAIM = ("tests/pos/test_fast_commit_claim.py",)
MEMBERS = ("tests/api/test_members_api.py", *CARDS)

ARITHMETIC_PY = "src/kopilka/program/engine/arithmetic.py"
STAGES_PY = "src/kopilka/program/engine/stages.py"
QUOTE_PY = "src/kopilka/program/engine/quote.py"
DOCUMENT_PY = "src/kopilka/program/engine/document.py"
PROGRAM_SELECTORS_PY = "src/kopilka/program/selectors.py"
PROGRAM_SERVICES_PY = "src/kopilka/program/services.py"
PLAN_PY = "src/kopilka/ledger/plan.py"
APPLY_PY = "src/kopilka/ledger/apply.py"
MEMORY_PY = "src/kopilka/ledger/memory.py"
STATE_PY = "src/kopilka/ledger/state.py"
LEDGER_PY = "src/kopilka/ledger/services.py"
IDEMPOTENCY_PY = "src/kopilka/core/idempotency.py"
SQL_PY = "src/kopilka/core/sql.py"
POS_PY = "src/kopilka/pos/services.py"
RECEIPTS_PY = "src/kopilka/pos/receipts.py"
STORES_PY = "src/kopilka/pos/stores.py"
FAST_PY = "src/kopilka/pos/fast_commit.py"
MEMBERS_PY = "src/kopilka/members/services.py"


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    description: str
    # Why no test can tell the mutant from the code, if that is the claim: a survivor with a
    # reason is "equivalent" and not scored; if it is ever caught, the reason was wrong.
    equivalent: str = ""

    @property
    def area(self) -> str:
        path = self.file.removeprefix("src/kopilka/")
        if path.startswith("program/engine/") and path != "program/engine/document.py":
            return "program/engine/"  # the rules engine: arithmetic, stages, quote
        if path.startswith(("program/", "ledger/")):
            return path.split("/")[0] + "/"
        return path


# Mutations of code that moved, under their new ids (old id -> new id).
RENAMED = {
    "engine-earn-on-amount": "engine-earn-before-redemption",
    "engine-full-share-refused": "program-maximum-refused",
    "program-settings-not-validated": "program-invalid-document-accepted",
    "ledger-expiry-a-day-early": "engine-expiry-a-day-early",
    "ledger-pending-a-day-late": "engine-pending-a-day-late",
    "ledger-refund-earliest-expiry": "state-refund-earliest-expiry",
    "pos-one-statement-stale-available": "fast-guard-never-matches",
    "pos-kp002-not-handed-over": "fast-kp002-not-handed-over",
    "pos-duplicate-receipt-not-handed-over": "fast-duplicate-not-handed-over",
    "sql-available-unchecked": "fast-guard-misses-version",
    "sql-pending-unchecked": "fast-guard-misses-version",
}
# Mutations whose bug can no longer be written, and why.
DROPPED = {
    "sql-fifo-by-id": "the PL/pgSQL function is gone (pos 0004): both commit paths take lots from "
    "ledger.plan.fifo, mutated by ledger-fifo-by-id",
    "sql-spends-pending": "the PL/pgSQL function is gone: the one planner's pending filter is "
    "mutated by ledger-redeem-includes-pending and ledger-open-lots-pending-filter",
    "sql-spend-overdraws-lot": "the PL/pgSQL function is gone: fast_commit writes the planner's "
    "takes (ledger-spend-overdraws-lot, fast-lot-takes-dropped)",
    "engine-exclusive-bonus-not-alone": "receipt bonuses are no longer combined apart: they take "
    "part in each line's combine (engine-exclusive-not-alone)",
    "engine-best-bonus-smallest": "receipt bonuses are no longer combined apart: best compares "
    "them by their worth on the line (engine-best-picks-the-worst, engine-best-bonus-whole-share)",
}

M = Mutation
MUTATIONS: list[Mutation] = [
    # --- program/engine/: arithmetic --------------------------------------------------------
    M(
        "engine-apportion-smallest-first",
        ARITHMETIC_PY,
        "key=lambda i: (-shares[i][1], i)",
        "key=lambda i: (shares[i][1], i)",
        ENGINE,
        "apportion hands the spare units to the smallest remainders first",
    ),
    M(
        "engine-apportion-ties-to-later",
        ARITHMETIC_PY,
        "key=lambda i: (-shares[i][1], i)",
        "key=lambda i: (-shares[i][1], -i)",
        ENGINE,
        "apportion breaks ties in favour of the later line",
    ),
    M(
        "engine-apportion-ignores-caps",
        ARITHMETIC_PY,
        "room = [i for i in order if caps is None or parts[i] < caps[i]][:left]",
        "room = order[:left]",
        ENGINE,
        "apportion gives a unit to a line already at its cap (points beyond whole point values)",
    ),
    M(
        "engine-line-amount-bankers-rounding",
        ARITHMETIC_PY,
        "rounding=ROUND_HALF_UP",
        'rounding="ROUND_HALF_EVEN"',
        ENGINE,
        "line amounts rounded half-even instead of half-up",
    ),
    M(
        "engine-percent-rounds-up",
        STAGES_PY,
        "return amount * percent // HUNDRED",
        "return -(-amount * percent // HUNDRED)",
        ENGINE,
        "a percentage of money (a discount) rounds up, against the business, instead of down",
    ),
    # --- program/engine/: redemption --------------------------------------------------------
    M(
        "engine-share-limit-off-by-one",
        STAGES_PY,
        "share_limit = percent_of(sum(payable), share) // point_value",
        "share_limit = percent_of(sum(payable), share) // point_value + 1",
        ENGINE,
        "the redeem share limit allows one point more than redeem_max_percent",
    ),
    M(
        "engine-caps-round-up",
        STAGES_PY,
        "caps = [a // point_value for a in payable]",
        "caps = [-(-a // point_value) for a in payable]",
        ENGINE,
        "a line's redeem cap rounds its amount up to a whole point value instead of down",
    ),
    M(
        "engine-max-ignores-balance",
        STAGES_PY,
        "max_redeemable=max(0, min(available, share_limit, lines_limit)),",
        "max_redeemable=max(0, min(share_limit, lines_limit)),",
        ENGINE,
        '"max" ignores the member\'s balance',
    ),
    M(
        "engine-share-on-whole-receipt",
        STAGES_PY,
        "share_limit = percent_of(sum(payable),",
        "share_limit = percent_of(sum(after_discount),",
        ENGINE,
        "the share limit is taken of the whole receipt, lines excluded from redemption included",
    ),
    M(
        "engine-excluded-line-redeems",
        STAGES_PY,
        '    payable = [0 if "redeem" in ex else a for a, ex in zip(after_discount, excluded, strict=True)]',
        "    payable = list(after_discount)",
        ENGINE,
        "a line excluded from redemption (tobacco) is paid with points",
    ),
    M(
        "engine-insufficient-boundary",
        QUOTE_PY,
        "if redeem > member.available:",
        "if redeem >= member.available:",
        ENGINE,
        "redeeming exactly the available points is refused",
    ),
    M(
        "engine-limit-boundary",
        QUOTE_PY,
        "if redeem > max_redeemable:",
        "if redeem >= max_redeemable:",
        ENGINE,
        "redeeming exactly the maximum is refused",
    ),
    # --- program/engine/: earning -----------------------------------------------------------
    M(
        "engine-earn-floored-per-line",
        STAGES_PY,
        "percent_points = apportion(numerators, denominator, sum(numerators) // denominator)",
        "percent_points = apportion(numerators, denominator, sum(x // denominator for x in numerators))",
        ENGINE,
        "earn floored per line instead of once per receipt (loses up to a point a line)",
    ),
    M(
        "engine-earn-before-redemption",
        QUOTE_PY,
        "stages.earning(\n        payables, line_terms",
        "stages.earning(\n        after_discount, line_terms",
        ENGINE,
        "points earned on the amount before redemption instead of what was paid",
    ),
    M(
        "engine-anonymous-earns",
        QUOTE_PY,
        "    if member is None:\n        _redeem_points(redeem, None, 0)\n",
        "    if member is None:\n        member = MemberState(member_id=0, available=0, pending=0)\n"
        "    if False:\n        _redeem_points(redeem, None, 0)\n",
        ENGINE,
        "a receipt without a member card is priced as an empty member's: it earns points",
    ),
    M(
        "engine-pending-counted-available",
        QUOTE_PY,
        "available_after = member.available - points + (0 if pending else earn)",
        "available_after = member.available - points + earn",
        ENGINE,
        "points that wait a pending period are shown as available at once",
    ),
    M(
        "engine-multiplier-adds",
        STAGES_PY,
        "        multiplier, multipliers = 1, 0\n        for r in stack:\n            if r.multiplier is not None:\n                multiplier *= r.multiplier\n                multipliers += 1\n",
        "        found = [r.multiplier for r in stack if r.multiplier is not None]\n        multiplier = SCALE + sum(m - SCALE for m in found) if found else 1\n        multipliers = 1 if found else 0\n",
        ENGINE,
        "earn multipliers add up (x2 and x3 give x4) instead of multiplying (x6)",
    ),
    M(
        "engine-earn-percent-smallest-wins",
        STAGES_PY,
        "replacing=max(replacing) if replacing else None,",
        "replacing=min(replacing) if replacing else None,",
        ENGINE,
        "of two earn_percent rules on a line the smallest rate wins",
    ),
    M(
        "engine-earn-percent-adds",
        STAGES_PY,
        "rate = (base.earn_percent if replacing is None else replacing) * multiplier",
        "rate = (base.earn_percent + (replacing or 0)) * multiplier",
        ENGINE,
        "earn_percent adds to the line's rate instead of replacing it",
    ),
    M(
        "engine-per-unit-rounds-up",
        STAGES_PY,
        "per_unit = [int(q * t.per_unit) for q, t",
        'per_unit = [int((q * t.per_unit).to_integral_value(rounding="ROUND_CEILING")) for q, t',
        ENGINE,
        "points per unit of a fractional quantity (0.5 kg) round up instead of down",
    ),
    M(
        "engine-per-unit-once-per-line",
        STAGES_PY,
        "per_unit = [int(q * t.per_unit) for q, t",
        "per_unit = [t.per_unit for q, t",
        ENGINE,
        "points per unit given once per line, whatever the quantity",
    ),
    M(
        "engine-discount-mode-earns",
        QUOTE_PY,
        'base_earn = stages.scaled(program.earn_percent) if program.mode == "points" else 0',
        "base_earn = stages.scaled(program.earn_percent)",
        ENGINE,
        "a discount card also earns the points mode's base rate",
    ),
    # --- program/engine/: discounts ---------------------------------------------------------
    M(
        "engine-discount-not-capped",
        STAGES_PY,
        "discount = min(HUNDRED, base.discount + self.discount + added)",
        "discount = base.discount + self.discount + added",
        ENGINE,
        "discounts on a line add up beyond 100 %",
    ),
    M(
        "engine-rule-discount-replaces-card",
        STAGES_PY,
        "discount = min(HUNDRED, base.discount + self.discount + added)",
        "discount = min(HUNDRED, (self.discount + added) or base.discount)",
        ENGINE,
        "a discount rule replaces the card's discount instead of adding to it",
    ),
    M(
        "engine-level-boundary",
        QUOTE_PY,
        "if lv.from_spend <= spend]",
        "if lv.from_spend < spend]",
        ENGINE,
        "an accumulating discount level is reached only above its threshold, not at it",
    ),
    M(
        "engine-level-lowest",
        QUOTE_PY,
        "return max(reached, key=lambda lv: lv.from_spend).percent if reached else Decimal(0)",
        "return min(reached, key=lambda lv: lv.from_spend).percent if reached else Decimal(0)",
        ENGINE,
        "the accumulating discount gives the lowest level reached, not the highest",
    ),
    # --- program/engine/: exclusions --------------------------------------------------------
    M(
        "engine-excluded-line-discounted",
        STAGES_PY,
        '        if "discount" not in base.excluded:\n            added =',
        "        if True:\n            added =",
        ENGINE,
        "a line excluded from discounts (tobacco) is still discounted",
    ),
    M(
        "engine-excluded-line-earns",
        STAGES_PY,
        '        if "earn" in base.excluded:\n            return LineTerms(discount, 0, 0, 0)\n',
        "",
        ENGINE,
        "a line excluded from earning (tobacco) still earns points",
    ),
    M(
        "engine-excluded-line-takes-rules",
        STAGES_PY,
        "rules = [r for r in matched if not base.excluded or acts_on(r, base.excluded)]",
        "rules = list(matched)",
        ENGINE,
        "a line excluded from an action still takes that action's rules (a bonus share, a listed rule)",
    ),
    M(
        "engine-acts-on-ignores-exclusions",
        STAGES_PY,
        'return not ("discount" in excluded and discounts) and not ("earn" in excluded and not discounts)',
        "return True",
        ENGINE,
        "a rule whose effect cannot act on an excluded line is still listed there and used up",
    ),
    M(
        "engine-bonus-share-counts-excluded-lines",
        STAGES_PY,
        '() if "earn" in base.excluded else tuple(r.code for r in matched if r.bonus is not None)',
        "() if False else tuple(r.code for r in matched if r.bonus is not None)",
        ENGINE,
        "best values a bonus on a line by counting lines excluded from earning among its lines",
    ),
    M(
        "engine-excluded-counted-in-min-receipt",
        STAGES_PY,
        "counted = sum(a for a, ex in zip(amounts, excluded, strict=True) if not ex)",
        "counted = sum(amounts)",
        ENGINE,
        "excluded lines (tobacco) count towards a rule's minimum receipt",
    ),
    # --- program/engine/: conditions and time -----------------------------------------------
    M(
        "engine-time-to-inclusive",
        STAGES_PY,
        "clock_time >= w.time_to",
        "clock_time > w.time_to",
        ENGINE,
        "a rule's time_to is inclusive (11:00 still counts as before 11:00)",
    ),
    M(
        "engine-time-from-exclusive",
        STAGES_PY,
        "clock_time < w.time_from",
        "clock_time <= w.time_from",
        ENGINE,
        "a rule's time_from is exclusive (07:00 sharp does not count)",
    ),
    M(
        "engine-weekday-in-utc",
        STAGES_PY,
        "local.isoweekday()",
        'receipt.at.astimezone(ZoneInfo("UTC")).isoweekday()',
        ENGINE,
        "a rule's weekday is read in UTC instead of the store's zone",
    ),
    M(
        "engine-hours-in-utc",
        STAGES_PY,
        "local.time().replace(tzinfo=None)",
        'receipt.at.astimezone(ZoneInfo("UTC")).time().replace(tzinfo=None)',
        ENGINE,
        "a rule's hours are read in UTC instead of the store's zone",
    ),
    M(
        "engine-weekday-zero-based",
        STAGES_PY,
        "local.isoweekday()",
        "local.weekday()",
        ENGINE,
        "weekdays counted from 0 = Monday instead of ISO 1 = Monday",
    ),
    M(
        "engine-date-to-exclusive",
        STAGES_PY,
        "day > w.date_to",
        "day >= w.date_to",
        ENGINE,
        "a rule's last day (date_to) does not count",
    ),
    M(
        "engine-min-receipt-boundary",
        STAGES_PY,
        "counted < w.min_receipt",
        "counted <= w.min_receipt",
        ENGINE,
        "a receipt of exactly the minimum amount does not qualify",
    ),
    M(
        "engine-stores-ignored",
        STAGES_PY,
        "(w.stores is not None and receipt.store not in w.stores)",
        "(False)",
        ENGINE,
        "a rule limited to some stores applies in every store",
    ),
    M(
        "engine-category-ignored-with-skus",
        STAGES_PY,
        "(rule.categories is None or line.category in rule.categories) and (",
        "True and (",
        ENGINE,
        "a rule naming SKUs and categories applies to its SKUs in any category",
    ),
    M(
        "engine-enrolled-within-boundary",
        STAGES_PY,
        "receipt.at >= member.enrolled_at + timedelta(days=w.enrolled_within_days)",
        "receipt.at > member.enrolled_at + timedelta(days=w.enrolled_within_days)",
        ENGINE,
        "a newcomer rule still applies at the very end of its enrolled_within_days",
    ),
    # --- program/engine/: limits ------------------------------------------------------------
    M(
        "engine-day-limit-boundary",
        STAGES_PY,
        "member.day_uses.get(rule.code, 0) >= limit.per_member_per_day",
        "member.day_uses.get(rule.code, 0) > limit.per_member_per_day",
        ENGINE,
        "a once-a-day rule applies twice (>= became >)",
    ),
    M(
        "engine-month-limit-boundary",
        STAGES_PY,
        "member.month_uses.get(rule.code, 0) >= limit.per_member_per_month",
        "member.month_uses.get(rule.code, 0) > limit.per_member_per_month",
        ENGINE,
        "a monthly limit lets one use more through (>= became >)",
    ),
    M(
        "engine-day-limit-read-as-month",
        STAGES_PY,
        "member.day_uses.get(rule.code, 0) >= limit.per_member_per_day",
        "member.month_uses.get(rule.code, 0) >= limit.per_member_per_day",
        ENGINE,
        "a per-day limit counts the uses of the whole month",
    ),
    M(
        "engine-month-limit-read-as-day",
        STAGES_PY,
        "member.month_uses.get(rule.code, 0) >= limit.per_member_per_month",
        "member.day_uses.get(rule.code, 0) >= limit.per_member_per_month",
        ENGINE,
        "a per-month limit counts only the uses of the day",
    ),
    # --- program/engine/: combination -------------------------------------------------------
    M(
        "engine-exclusive-not-alone",
        STAGES_PY,
        "            stack, candidates = [r], []\n",
        '            stack, candidates = [r, *[s for s in rules if s.combine == "stack"]], []\n',
        ENGINE,
        "an exclusive rule stacks with the stack rules instead of applying alone",
    ),
    M(
        "engine-exclusive-lowest-priority",
        STAGES_PY,
        "            stack, candidates = [r], []\n",
        '            stack, candidates = [[s for s in rules if s.combine == "exclusive"][-1]], []\n',
        ENGINE,
        "of two exclusive rules the lowest priority (last) wins",
    ),
    M(
        "engine-best-picks-the-worst",
        STAGES_PY,
        "if num * best_den > best_num * den:",
        "if num * best_den < best_num * den:",
        ENGINE,
        "of the best rules the one worth least to the member is taken",
    ),
    M(
        "engine-best-ties-to-later",
        STAGES_PY,
        "if num * best_den > best_num * den:",
        "if num * best_den >= best_num * den:",
        ENGINE,
        "of best rules of equal worth the later (lower priority, higher code) wins",
    ),
    M(
        "engine-best-per-unit-once",
        STAGES_PY,
        "per_unit = int(quantity * t.per_unit) if t.per_unit else 0",
        "per_unit = t.per_unit",
        ENGINE,
        "best values points per unit once, not for the line's whole quantity",
    ),
    M(
        "engine-best-bonus-whole-share",
        STAGES_PY,
        "num += points * point_value * (den // bonus_hits[code])",
        "num += points * point_value * den",
        ENGINE,
        "best values a receipt bonus in full on every line it matches, not its share",
    ),
    M(
        "engine-best-listed-last",
        STAGES_PY,
        "at = next((i for i, r in enumerate(stacked) if r.order > best.order), len(stacked))",
        "at = len(stacked)",
        ENGINE,
        "the best rule is listed after the stacked ones, out of rule order",
    ),
    M(
        "engine-idle-multiplier-kept",
        STAGES_PY,
        "    if all(r.multiplier is None for r in rules):\n        return rules\n",
        "    if True:\n        return rules\n",
        ENGINE,
        "a multiplier with no rate to multiply (a discount mode) is listed on the line and used up",
    ),
    M(
        "engine-match-cache-by-category",
        STAGES_PY,
        "key = (line.category, line.sku)",
        'key = (line.category, "")',
        ENGINE,
        "the rules matched for a line are cached by category only: a SKU rule leaks to its category",
    ),
    M(
        "engine-rule-ties-by-input-order",
        STAGES_PY,
        "return -rule.priority, rule.code",
        'return -rule.priority, ""',
        ENGINE,
        "rules of equal priority are ordered as written in the document instead of by code",
    ),
    M(
        "engine-lowest-priority-first",
        STAGES_PY,
        "return -rule.priority, rule.code",
        "return rule.priority, rule.code",
        ENGINE,
        "lower priority rules come first (exclusive and best ties go the wrong way)",
    ),
    M(
        "engine-bonus-to-all-lines",
        STAGES_PY,
        "weights = [p if hit else 0 for p, hit in zip(payables, hits, strict=True)]",
        "weights = list(payables)",
        ENGINE,
        "a receipt bonus is spread over every line instead of the lines it matched",
    ),
    # --- program/engine/: effects and lot dates ---------------------------------------------
    M(
        "engine-rule-use-for-unused-rules",
        QUOTE_PY,
        "effects.extend(RuleUse(r.code, day) for r in rules if r.code in used)",
        "effects.extend(RuleUse(r.code, day) for r in rules)",
        ENGINE,
        "a rule whose conditions held but that gave nothing is used up",
    ),
    M(
        "engine-rule-use-utc-day",
        QUOTE_PY,
        "day = receipt.at.astimezone(ZoneInfo(receipt.time_zone)).date()",
        'day = receipt.at.astimezone(ZoneInfo("UTC")).date()',
        ENGINE,
        "a rule use is dated by the UTC day instead of the store's",
    ),
    M(
        "engine-expiry-a-day-early",
        QUOTE_PY,
        "return available_at, midnight(program.expiry_days + 1)",
        "return available_at, midnight(program.expiry_days)",
        (*ENGINE, "tests/ledger/test_ledger.py"),
        "points expire at the start of their last valid day instead of its end",
    ),
    M(
        "engine-pending-a-day-late",
        QUOTE_PY,
        "else midnight(program.pending_days)",
        "else midnight(program.pending_days + 1)",
        (*ENGINE, "tests/ledger/test_ledger.py"),
        "pending points become available a day late",
    ),
    M(
        "engine-lot-dates-in-utc",
        QUOTE_PY,
        "    zone = ZoneInfo(time_zone)\n    day = at.astimezone(zone).date()",
        '    zone = ZoneInfo("UTC")\n    day = at.astimezone(zone).date()',
        (*ENGINE, "tests/ledger/test_ledger.py"),
        "lots become available and expire at UTC midnight instead of the store's",
    ),
    # --- program/: the document and its versions --------------------------------------------
    M(
        "program-pending-days-dropped",
        DOCUMENT_PY,
        '    read("pending_days", lambda value, path: reader.integer(value, path, 0, 365))\n',
        "",
        (*DOCUMENT, *COMMIT_PATHS),
        "the program's pending period is not read from its document",
    ),
    M(
        "program-maximum-refused",
        DOCUMENT_PY,
        "        if value > high:\n",
        "        if value >= high:\n",
        (*DOCUMENT, *VERSIONS),
        "a value at its maximum (a 100 % redeem share, 365 pending days) is refused",
    ),
    M(
        "program-invalid-document-accepted",
        DOCUMENT_PY,
        "    if reader.problems:\n        raise DocumentError(reader.problems)\n"
        "    return Program(**values, version=version)",
        "    return Program(**values, version=version)",
        (*DOCUMENT, *VERSIONS),
        "a document with problems is read with defaults in their place instead of refused",
    ),
    M(
        "program-cache-never-cleared",
        PROGRAM_SELECTORS_PY,
        "    global _versions\n    _versions = None\n",
        "    global _versions\n",
        (*VERSIONS, *COMMIT_PATHS),
        "program_cache_clear does nothing: a new version waits for the cache to expire",
    ),
    M(
        "program-version-not-in-force-at-its-moment",
        PROGRAM_SELECTORS_PY,
        "from bisect import bisect_right",
        "from bisect import bisect_left as bisect_right",
        VERSIONS,
        "a version is not in force at its effective_from, and of two at one time the older wins",
    ),
    M(
        "program-version-in-past-allowed",
        PROGRAM_SERVICES_PY,
        "    if effective_from < now - PAST_TOLERANCE:\n",
        "    if False:\n",
        VERSIONS,
        "a version may take effect in the past (re-pricing purchases already made)",
    ),
    M(
        "program-cache-not-cleared-on-create",
        PROGRAM_SERVICES_PY,
        "    transaction.on_commit(program_cache_clear)\n",
        "",
        VERSIONS,
        "a new version does not clear this process's cache: it waits for it to expire",
    ),
    # --- ledger/plan.py: the one planner ----------------------------------------------------
    M(
        "ledger-fifo-by-id",
        PLAN_PY,
        "key=lambda lot: (lot.available_at > at, lot.expires_at, lot.id)",
        "key=lambda lot: (lot.available_at > at, lot.id)",
        LEDGER,
        "spending takes the oldest lot first instead of the soonest expiring",
    ),
    M(
        "ledger-fifo-pending-not-last",
        PLAN_PY,
        "key=lambda lot: (lot.available_at > at, lot.expires_at, lot.id)",
        "key=lambda lot: (lot.expires_at, lot.id)",
        LEDGER,
        "a return takes back the member's pending points before available ones",
    ),
    M(
        "ledger-open-lots-pending-filter",
        PLAN_PY,
        "(include_pending or lot.available_at <= at)",
        "(include_pending or lot.available_at <= at or True)",
        LEDGER,
        "spending (a redemption, a debit) may take pending points",
    ),
    M(
        "ledger-redeem-includes-pending",
        PLAN_PY,
        "takes = _take(fifo(lots, at, include_pending=False), spent, 0)",
        "takes = _take(fifo(lots, at, include_pending=True), spent, 0)",
        LEDGER,
        "purchase redemption spends pending lots",
    ),
    M(
        "ledger-open-lots-expiry-boundary",
        PLAN_PY,
        "lot.remaining > 0 and lot.expires_at > at and (include_pending",
        "lot.remaining > 0 and lot.expires_at >= at and (include_pending",
        LEDGER,
        "a lot can still be spent at the very moment it expires",
    ),
    M(
        "ledger-available-boundary",
        PLAN_PY,
        "            if lot.available_at <= at:\n",
        "            if lot.available_at < at:\n",
        LEDGER,
        "points earned this instant are counted as pending",
    ),
    M(
        "ledger-balance-expiry-boundary",
        PLAN_PY,
        "if lot.remaining > 0 and lot.expires_at > at:\n",
        "if lot.remaining > 0 and lot.expires_at >= at:\n",
        LEDGER,
        "the balance counts points at the moment they expire",
    ),
    M(
        "ledger-spend-overdraws-lot",
        PLAN_PY,
        "take = min(remaining, left)",
        "take = left",
        LEDGER,
        "a spend takes more from a lot than it holds",
    ),
    M(
        "ledger-unbalanced-allowed",
        PLAN_PY,
        "    if sum(amount for _account, amount in kept) != 0:\n",
        "    if False:\n",
        ("tests/ledger/test_ledger.py",),
        "a transfer whose postings do not sum to zero is written",
    ),
    M(
        "ledger-return-other-lots-first",
        PLAN_PY,
        "takes = _take([*order, *others], taken, 0)",
        "takes = _take([*others, *order], taken, 0)",
        RETURNS,
        "a return takes back other lots' points before the purchase's own",
    ),
    M(
        "ledger-return-refund-last",
        PLAN_PY,
        "            order.append((NewLot(0), refund))\n",
        "            others.append((NewLot(0), refund))  # type: ignore[arg-type]\n",
        RETURNS,
        "a return takes back other points before its own refund",
    ),
    M(
        "ledger-collectable-without-refund",
        PLAN_PY,
        "taken = min(take_back, refund + sum(lot.remaining for lot in live))",
        "taken = min(take_back, sum(lot.remaining for lot in live))",
        RETURNS,
        "a return does not count its own refund as points it can take back",
    ),
    M(
        "ledger-refund-fresh-expiry",
        PLAN_PY,
        "refund_expires_at = paid_until or lot_dates(at, time_zone, program)[1]",
        "refund_expires_at = lot_dates(at, time_zone, program)[1]",
        RETURNS,
        "refunded points get a fresh expiry instead of keeping the original",
    ),
    M(
        "pos-refund-paid-until-dropped",
        POS_PY,
        "paid_until=redeemed_until(purchase.pk),",
        "paid_until=None,",
        RETURNS,
        "the return service does not tell the planner which lot paid last: a fresh expiry",
    ),
    M(
        "ledger-adjust-counts-pending",
        PLAN_PY,
        "takes = _take(fifo(lots, at, include_pending=False), -points, 0) if points < 0 else []",
        "takes = _take(fifo(lots, at, include_pending=True), -points, 0) if points < 0 else []",
        LEDGER,
        "a negative adjustment may take pending points",
    ),
    M(
        "ledger-expire-due-boundary",
        PLAN_PY,
        "(lot for lot in lots if lot.remaining > 0 and lot.expires_at <= at),",
        "(lot for lot in lots if lot.remaining > 0 and lot.expires_at < at),",
        LEDGER,
        "the expiry plan skips lots that expire at the very moment it runs",
    ),
    M(
        "ledger-expiry-takes-unexpired",
        PLAN_PY,
        "(lot for lot in lots if lot.remaining > 0 and lot.expires_at <= at),",
        "(lot for lot in lots if lot.remaining > 0),",
        LEDGER,
        "the expiry plan takes every lot of a member with one due, unexpired ones too",
    ),
    # The random histories alone must notice a service that refuses what the rules allow.
    M(
        "ledger-debits-half-refused",
        PLAN_PY,
        "    takes = _take(fifo(lots, at, include_pending=False), -points, 0) if points < 0 else []",
        "    if points < 0 and -points > points_of(lots, at)[0] // 2:\n"
        '        raise InsufficientPoints("half", available=points_of(lots, at)[0], requested=-points)\n'
        "    takes = _take(fifo(lots, at, include_pending=False), -points, 0) if points < 0 else []",
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
    # --- ledger/services.py -----------------------------------------------------------------
    M(
        "ledger-expire-members-boundary",
        LEDGER_PY,
        "PointLot.objects.filter(remaining__gt=0, expires_at__lte=at)",
        "PointLot.objects.filter(remaining__gt=0, expires_at__lt=at)",
        LEDGER,
        "the expiry run skips members whose points expire at the very moment it runs",
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
        "ledger-lock-omitted",
        LEDGER_PY,
        "member = Member.objects.select_for_update().only(",
        "member = Member.objects.only(",
        (*CONCURRENCY, *PROGRAM_RULES),
        "the member row is read without FOR UPDATE: parallel redemptions overdraw",
    ),
    # --- ledger/apply.py: the database applier ----------------------------------------------
    M(
        "ledger-balance-sign",
        APPLY_PY,
        "SET points_balance = points_balance + %s",
        "SET points_balance = points_balance - %s",
        LEDGER,
        "the cached balance moves the wrong way",
    ),
    M(
        "apply-lot-take-skipped",
        APPLY_PY,
        "            cursor.execute(_LOT_TAKE_SQL, [points, lot_id])\n",
        "            pass\n",
        LEDGER,
        "the database applier forgets to lower the remaining points of the lots it takes from",
    ),
    M(
        "apply-new-lot-taken-not-subtracted",
        APPLY_PY,
        '            "remaining": lot.points - taken[i],\n',
        '            "remaining": lot.points,\n',
        LEDGER,
        "a new lot (a return's refund) keeps points the same plan already took from it",
    ),
    M(
        "apply-version-not-moved",
        APPLY_PY,
        '"spend_total = spend_total + %s, state_version = state_version + 1 WHERE id = %s"',
        '"spend_total = spend_total + %s WHERE id = %s"',
        (*LEDGER, *COMMIT_PATHS),
        "the applier does not move state_version: the fast path's guard misses its writes",
    ),
    M(
        "apply-spend-not-moved",
        APPLY_PY,
        '"spend_total = spend_total + %s, state_version = state_version + 1 WHERE id = %s"',
        '"spend_total = spend_total + 0 * %s, state_version = state_version + 1 WHERE id = %s"',
        (*LEDGER, *PROGRAM_RULES),
        "the applier does not move the member's cumulative spend",
    ),
    M(
        "apply-rule-uses-not-written",
        APPLY_PY,
        "    insert_rows(RuleUse, rows.rule_uses)\n",
        "",
        (*LEDGER, *PROGRAM_RULES, *COMMIT_PATHS),
        "rule uses are not written: a once-a-day rule applies on every receipt",
    ),
    # --- ledger/memory.py: the in-memory applier --------------------------------------------
    M(
        "memory-lot-row-remaining-stale",
        MEMORY_PY,
        '            self._lot_rows[lot_id]["remaining"] -= points  # type: ignore[operator]\n',
        "",
        MEMORY,
        "the memory applier forgets to lower a lot row's remaining points",
    ),
    M(
        "memory-open-lot-not-reduced",
        MEMORY_PY,
        "lot.id, lot.remaining - points, lot.available_at, lot.expires_at",
        "lot.id, lot.remaining, lot.available_at, lot.expires_at",
        MEMORY,
        "the memory applier forgets to lower an open lot's remaining points (the balance)",
    ),
    M(
        "memory-spend-not-moved",
        MEMORY_PY,
        "        book.spend += plan.spend_delta\n",
        "",
        MEMORY,
        "the memory applier does not move the member's cumulative spend",
    ),
    M(
        "memory-rule-uses-forgotten",
        MEMORY_PY,
        "        book.uses.extend((use.rule, use.day) for use in plan.rule_uses)\n",
        "",
        MEMORY,
        "the memory applier forgets rule uses: a once-a-day rule applies again",
    ),
    M(
        "memory-refund-earliest-expiry",
        MEMORY_PY,
        "max(self._expires_at(lot) for lot in spent)",
        "min(self._expires_at(lot) for lot in spent)",
        MEMORY,
        "in memory, refunded points expire with the earliest lot that paid, not the latest",
    ),
    M(
        "memory-refund-lots-count-as-earned",
        MEMORY_PY,
        "if plan.purchase_id is not None and plan.return_id is None:",
        "if plan.purchase_id is not None:",
        MEMORY,
        "in memory, a return's refund lot counts as the purchase's own earned points",
    ),
    # --- ledger/state.py: what the engine knows about a member ------------------------------
    M(
        "state-field-not-from-column",
        STATE_PY,
        "        **{field: getattr(member, column) for field, column in STATE_COLUMNS.items()},\n",
        "        enrolled_at=member.created_at,\n",
        (*LEDGER, *PROGRAM_RULES, *COMMIT_PATHS),
        "the locked path's MemberState.spend is not read from spend_total (stays 0)",
    ),
    M(
        "state-spend-column-dropped",
        STATE_PY,
        'STATE_COLUMNS = {"enrolled_at": "created_at", "spend": "spend_total"}',
        'STATE_COLUMNS = {"enrolled_at": "created_at"}',
        (*STATE, *PROGRAM_RULES, *COMMIT_PATHS),
        "spend is dropped from the state columns: not read, and not compared by the guard",
    ),
    M(
        "state-day-uses-whole-month",
        STATE_PY,
        "            if used_on == day:\n",
        "            if True:\n",
        (*LEDGER, *PROGRAM_RULES, *COMMIT_PATHS),
        "a rule's uses on the day count every use of the month",
    ),
    M(
        "state-uses-of-other-months",
        STATE_PY,
        "        if month_start(used_on) == first:\n",
        "        if True:\n",
        (*LEDGER, *PROGRAM_RULES, *COMMIT_PATHS),
        "a rule's uses in the month count uses of other months",
    ),
    M(
        "state-local-day-utc",
        STATE_PY,
        "    return at.astimezone(ZoneInfo(time_zone)).date()",
        '    return at.astimezone(ZoneInfo("UTC")).date()',
        (*LEDGER, *PROGRAM_RULES, *COMMIT_PATHS),
        "rule uses are counted by the UTC day instead of the store's",
    ),
    M(
        "state-monthly-limits-not-read",
        STAGES_PY,
        "limited=bool(rule.limit.per_member_per_day or rule.limit.per_member_per_month),",
        "limited=bool(rule.limit.per_member_per_day),",
        (*LEDGER, *PROGRAM_RULES, *COMMIT_PATHS),
        "the locked path reads no rule uses for a program whose limits are all monthly",
    ),
    M(
        "state-purchase-lots-any-kind",
        STATE_PY,
        "            transfer__kind=Transfer.Kind.EARN,\n",
        "",
        (*RETURNS, *MEMORY),
        "a return counts an earlier return's refund lot as the purchase's own earned points",
    ),
    M(
        "state-refund-earliest-expiry",
        STATE_PY,
        "from django.db.models import F, Max, Sum",
        "from django.db.models import F, Sum\nfrom django.db.models import Min as Max",
        RETURNS,
        "refunded points expire with the earliest lot that paid, not the latest",
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
    # --- pos/services.py: the locked path and returns ---------------------------------------
    M(
        "pos-key-scope-shared",
        STORES_PY,
        'return f"terminal:{self.actor.terminal_id}"',
        'return "terminal"',
        (*PURCHASES, *RETURNS, "tests/api/test_boundaries.py"),
        "Idempotency-Keys shared by all terminals: one till gets another's stored answer",
    ),
    M(
        "pos-share-rounds-half-up",
        RECEIPTS_PY,
        'to_integral_value(rounding="ROUND_FLOOR")',
        'to_integral_value(rounding="ROUND_HALF_UP")',
        RETURNS,
        "return shares rounded half-up instead of down",
    ),
    M(
        "pos-share-not-cumulative",
        RECEIPTS_PY,
        "    return _share(figure, after, whole) - _share(figure, before, whole)",
        "    return _share(figure, after - before, whole)",
        RETURNS,
        "take-back shares computed per return, not on cumulative quantities",
    ),
    M(
        "pos-refund-share-off-by-one",
        POS_PY,
        "redeem_refunded=_returned(line, line.redeem_points, before, after),",
        "redeem_refunded=_returned(line, line.redeem_points, before, after) + 1,",
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
        '        member_lock(head["member_id"])  # members before purchases: the commit\'s lock order',
        "        pass",
        (*RETURNS, *CONCURRENCY),
        "a return does not lock the member before moving points",
    ),
    M(
        "pos-return-spend-not-given-back",
        POS_PY,
        "spend_delta=-sum(row.amount - row.discount for row in rows),",
        "spend_delta=0,",
        (*RETURNS, *PROGRAM_RULES, *MEMORY),
        "a return does not give back the cumulative spend (the accumulating discount's level)",
    ),
    M(
        "pos-return-spend-before-discount",
        POS_PY,
        "spend_delta=-sum(row.amount - row.discount for row in rows),",
        "spend_delta=-sum(row.amount for row in rows),",
        (*RETURNS, *PROGRAM_RULES, *MEMORY),
        "a return gives back the spend before the discount, more than the purchase added",
    ),
    M(
        "pos-spend-before-discount",
        RECEIPTS_PY,
        "        spend_delta=quote.amount - quote.discount,",
        "        spend_delta=quote.amount,",
        (*PROGRAM_RULES, *COMMIT_PATHS),
        "the cumulative spend counts amounts before discounts",
    ),
    M(
        "pos-commit-receipt-unchecked",
        POS_PY,
        "    receipt_check(seller, receipt, now)\n    priced = engine_receipt(seller, receipt, now)\n"
        "    program = program_in_force(priced.at)\n    member = state = None",
        "    priced = engine_receipt(seller, receipt, now)\n"
        "    program = program_in_force(priced.at)\n    member = state = None",
        (*PURCHASES, "tests/api/test_bad_input.py", *PROGRAM_RULES),
        "the locked commit skips the store, amount and time checks",
    ),
    M(
        "pos-receipt-limit-boundary",
        RECEIPTS_PY,
        "if amount > settings.KOPILKA_MAX_RECEIPT_AMOUNT:",
        "if amount >= settings.KOPILKA_MAX_RECEIPT_AMOUNT:",
        ("tests/api/test_bad_input.py",),
        "a receipt of exactly the maximum amount is refused",
    ),
    M(
        "pos-purchased-at-far-ahead",
        RECEIPTS_PY,
        "MAX_AHEAD = timedelta(minutes=5)",
        "MAX_AHEAD = timedelta(hours=5)",
        (*PROGRAM_RULES, "tests/api/test_bad_input.py"),
        "a receipt dated hours ahead of the server's clock is accepted",
    ),
    M(
        "pos-offline-receipt-priced-now",
        RECEIPTS_PY,
        "        at=receipt.purchased_at or now,\n",
        "        at=now,\n",
        (*PROGRAM_RULES, *COMMIT_PATHS),
        "an offline receipt is priced at the time it arrives instead of its purchased_at",
    ),
    M(
        "pos-store-zone-ignored",
        RECEIPTS_PY,
        "        time_zone=seller.store.time_zone,\n        lines=receipt.lines,",
        '        time_zone="UTC",\n        lines=receipt.lines,',
        (*PROGRAM_RULES, *COMMIT_PATHS),
        "receipts are priced on UTC's clock instead of the store's zone",
    ),
    M(
        "pos-return-other-store",
        POS_PY,
        "mine = Purchase.objects.filter(pk=purchase_id, store_id=seller.store.id)",
        "mine = Purchase.objects.filter(pk=purchase_id)",
        (*RETURNS, "tests/api/test_boundaries.py"),
        "a terminal returns another store's purchase",
    ),
    M(
        "pos-commit-inactive-member",
        POS_PY,
        "        member = member_lock(member_id)\n        _check_active(member)\n",
        "        member = member_lock(member_id)\n",
        (*CARDS, *PURCHASES),
        "a blocked member earns and spends on the locked path",
    ),
    # --- pos/fast_commit.py: a read, then one guarded statement (PostgreSQL) ----------------
    M(
        "fast-guard-misses-version",
        FAST_PY,
        'f"WHERE id = %s AND state_version = %s AND {checks} "',
        'f"WHERE id = %s AND (state_version = %s OR TRUE) AND {checks} "',
        (*COMMIT_PATHS, *CONCURRENCY, *GUARD),
        "the guard does not compare state_version: a commit lands on points changed since the read",
    ),
    M(
        "fast-guard-misses-spend",
        FAST_PY,
        'checks = " AND ".join(f"{column} = %s" for column in GUARD_COLUMNS)',
        'checks = " AND ".join(f"({column} = %s OR {column!r} = \'spend_total\')"'
        " for column in GUARD_COLUMNS)",
        (*COMMIT_PATHS, *PROGRAM_RULES, *CONCURRENCY, *GUARD),
        "the guard does not compare spend_total (a state column)",
    ),
    M(
        "fast-guard-misses-status",
        FAST_PY,
        'checks = " AND ".join(f"{column} = %s" for column in GUARD_COLUMNS)',
        'checks = " AND ".join(f"({column} = %s OR {column!r} = \'status\')"'
        " for column in GUARD_COLUMNS)",
        (*COMMIT_PATHS, *CARDS, *CONCURRENCY, *GUARD),
        "the guard does not compare the status: a member blocked since the read still earns",
    ),
    M(
        "fast-guard-never-matches",
        FAST_PY,
        "return purchase_id, [t1, t2], state, lots, (version, *columns)",
        "return purchase_id, [t1, t2], state, lots, (version + 1, *columns)",
        COMMIT_PATHS,
        "the guard never matches, so every purchase with a member falls back to the locked path",
    ),
    M(
        "fast-takes-not-gated",
        FAST_PY,
        'f"WHERE {lot}.id = t.id AND EXISTS (SELECT 1 FROM guard))"',
        'f"WHERE {lot}.id = t.id)"',
        (*COMMIT_PATHS, *CONCURRENCY),
        "the lot takes are not gated on the guard",
        equivalent="a guard that did not match makes the statement's last SELECT call "
        "kopilka_refuse, which raises: PostgreSQL rolls the whole statement back, every CTE's "
        "writes with it, so the gate only repeats what the refusal already ensures",
    ),
    M(
        "fast-inserts-not-gated",
        SQL_PY,
        "%s::jsonb) WHERE EXISTS (SELECT 1 FROM {gate})",
        "%s::jsonb)",
        (*COMMIT_PATHS, *CONCURRENCY),
        "the planned rows are inserted whether or not the guard matched",
        equivalent="as fast-takes-not-gated: without a guard row the statement raises KP002 "
        "and nothing it wrote stays",
    ),
    M(
        "fast-guard-before-claim",
        FAST_PY,
        '"AND EXISTS (SELECT 1 FROM claim) RETURNING id)"',
        '"RETURNING id)"',
        (*COMMIT_PATHS, *CONCURRENCY, "tests/pos/test_idempotency_race.py", *CLAIM),
        "the guard does not wait for the key's claim: the member row is locked before the key",
    ),
    M(
        "fast-refusal-dropped",
        FAST_PY,
        "\"SELECT kopilka_refuse('member state changed since the read') \"",
        '"SELECT 1 "',
        COMMIT_PATHS,
        "a guard that did not match writes nothing but answers 201 (no refusal, no locked path)",
    ),
    M(
        "fast-kp002-not-handed-over",
        FAST_PY,
        '_LOCKED_PATH_DECIDES = {"KP002", "23505"}',
        '_LOCKED_PATH_DECIDES = {"23505"}',
        COMMIT_PATHS,
        "a member changed since the read is a server error instead of the locked path",
    ),
    M(
        "fast-duplicate-not-handed-over",
        FAST_PY,
        '_LOCKED_PATH_DECIDES = {"KP002", "23505"}',
        '_LOCKED_PATH_DECIDES = {"KP002"}',
        PURCHASES,
        "a used key or receipt number is a server error instead of the locked path's answer",
    ),
    M(
        "fast-inactive-member-committed",
        FAST_PY,
        '    if state_values["status"] != Member.Status.ACTIVE:\n        raise _LockedPathDecides\n',
        "",
        (*CARDS, *COMMIT_PATHS),
        "a blocked member earns and spends on the one-statement path",
    ),
    M(
        "fast-state-field-not-from-column",
        FAST_PY,
        "        **{field: state_values[column] for field, column in STATE_COLUMNS.items()},\n",
        '        enrolled_at=state_values["created_at"],\n',
        (*COMMIT_PATHS, *PROGRAM_RULES),
        "the one-statement path's MemberState.spend is not read from spend_total (stays 0)",
    ),
    M(
        "fast-version-not-moved",
        FAST_PY,
        '"spend_total = spend_total + %s, state_version = state_version + 1 "',
        '"spend_total = spend_total + %s "',
        (*COMMIT_PATHS, *CONCURRENCY),
        "the one-statement write does not move state_version",
    ),
    M(
        "fast-spend-not-moved",
        FAST_PY,
        '"spend_total = spend_total + %s, state_version = state_version + 1 "',
        '"spend_total = spend_total + 0 * %s, state_version = state_version + 1 "',
        (*COMMIT_PATHS, *PROGRAM_RULES),
        "the one-statement write does not move the member's cumulative spend",
    ),
    M(
        "fast-balance-sign",
        FAST_PY,
        "SET points_balance = points_balance + %s",
        "SET points_balance = points_balance - %s",
        COMMIT_PATHS,
        "the one-statement write moves the cached balance the wrong way",
    ),
    M(
        "fast-lot-takes-dropped",
        FAST_PY,
        'params.append(json.dumps([{"id": lot, "points": p} for lot, p in rows.lot_takes]))',
        'params.append("[]")',
        (*COMMIT_PATHS, *CONCURRENCY),
        "the one-statement write forgets to lower the remaining points of the lots it spends",
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
    status: str  # caught, survived, equivalent, stale, ambiguous, timeout, error
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
            **({"equivalent": m.equivalent} if m.equivalent else {}),
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
    if not target.exists():
        return Result(mutation, "stale", detail="the file is gone")
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
        return Result(mutation, "equivalent" if mutation.equivalent else "survived", seconds)
    if code in (1, 2) and (failed := _FAILED.findall(output)):
        return Result(mutation, "caught", seconds, failed)
    tail = "\n".join(output.strip().splitlines()[-5:])
    return Result(mutation, "caught", seconds, detail=f"pytest exit {code}: {tail}")


def score(results: list[Result]) -> dict[str, dict[str, object]]:
    areas: dict[str, dict[str, object]] = {}
    for result in results:
        area = areas.setdefault(
            result.mutation.area,
            {"caught": 0, "survived": 0, "equivalent": 0, "not_run": 0, "score": None},
        )
        if result.status in ("caught", "timeout"):
            area["caught"] = int(str(area["caught"])) + 1
        elif result.status in ("survived", "equivalent"):
            area[result.status] = int(str(area[result.status])) + 1
        else:
            area["not_run"] = int(str(area["not_run"])) + 1
    for area in areas.values():
        scored = int(str(area["caught"])) + int(str(area["survived"]))
        area["score"] = round(100 * int(str(area["caught"])) / scored, 1) if scored else None
    return dict(sorted(areas.items()))


def _source(path: str, ref: str | None) -> str | None:
    """The file's text in the working tree or at `ref`; None if it is not there."""
    if ref is None:
        file = ROOT / path
        return file.read_text() if file.exists() else None
    shown = subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, text=True
    )
    return shown.stdout if shown.returncode == 0 else None


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
            text = _source(m.file, args.ref)
            found = -1 if text is None else text.count(m.old)
            state = {-1: "no file", 0: "stale", 1: "applies"}.get(found, f"ambiguous ({found})")
            print(f"{m.id:44} {m.area:22} {state:10} {m.description}")
        if not args.only:
            for old, new in RENAMED.items():
                print(f"{old:44} {'renamed':22} {new}")
            for old, why in DROPPED.items():
                print(f"{old:44} {'dropped':22} {why}")
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
    equivalent = sum(r.status == "equivalent" for r in results)
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
            "equivalent": equivalent,
            "not_run": len(results) - len(scored) - equivalent,
            "score": round(100 * caught / len(scored), 1) if scored else None,
        },
        "areas": score(results),
        "mutations": [r.as_json() for r in results],
        "renamed": RENAMED,
        "dropped": DROPPED,
    }
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
