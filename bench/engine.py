#!/usr/bin/env python
"""The time of one `engine.quote`: a 20-line receipt under a 20-rule program, and the same
receipt under the default program. No database, no server: the engine is pure.

    .venv/bin/python bench/engine.py [--repetitions 5000] [--profile]

The 20 rules are `bench/rulegen.py`'s (the ones `bench/pos_commit.py --rules 20` applies), made
for the receipt's own time, so 16 of them hold for it and 4 do not. The receipt: 19 lines of the
bench's catalogue (all four categories, two products of the week, a promotion item, weighed and
counted quantities) and a pack of cigarettes, which the law excludes from everything. The member
has 5,000 points, enrolled 5 days before, used one rule this month.

Each case is timed call by call, in blocks that alternate between the cases so a drift of the
machine's speed reaches all of them alike; it prints one JSON object with the median, p90, p99,
mean and minimum in microseconds per quote of wall time (`perf_counter_ns`; the target's
figure) and of this thread's CPU time (`thread_time_ns`, under "cpu": on a busy machine it leaves
out the time the quote waited for a core, so it is the steadier figure), the CPU other processes
used meanwhile (`other_s`: a wall figure taken while something else was busy is not a figure),
and, when
the 20-rule median is over the target (300 µs) or with --profile, a cProfile of that case: the
functions with the most own time and the most time below them, in µs per quote (cProfile
inflates Python calls, so read them as shares); and, when over the target or with --stages, the
CPU time of each stage of `quote` (each stage function timed, no profiler).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).parent)]

from django.conf import settings  # noqa: E402

if not settings.configured:  # the engine needs no settings; gettext only needs i18n off
    settings.configure(USE_I18N=False)

from kopilka.program import engine  # noqa: E402
from kopilka.program.engine import stages  # noqa: E402
from kopilka.program.engine.document import program_from_document  # noqa: E402
from rulegen import PRODUCT_OF_THE_WEEK, PROMO, SKUS, TOBACCO, rules_document  # noqa: E402
from timing import machine_cpu_seconds, own_cpu_seconds  # noqa: E402

TARGET_US = 300.0
AT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday, 15:00 in Moscow
TIME_ZONE = "Europe/Moscow"


def receipt(at: datetime, lines: int, seed: int) -> engine.Receipt:
    rng = random.Random(seed)
    by_sku = {sku: (sku, name, category) for sku, name, category in SKUS}
    chosen = [by_sku[PRODUCT_OF_THE_WEEK[3]], by_sku[PRODUCT_OF_THE_WEEK[17]], by_sku[PROMO[5]]]
    rest = [item for item in SKUS if item not in chosen]
    chosen += rng.sample(rest, lines - 1 - len(chosen))
    out = []
    for number, (sku, name, category) in enumerate(chosen):
        weighed = number % 5 == 4
        quantity = Decimal(rng.choice(("0.35", "0.5", "0.75", "1.2"))) if weighed else None
        out.append(
            engine.Line(
                sku=sku,
                name=name,
                category=category,
                quantity=quantity or Decimal(rng.randint(1, 3)),
                price=rng.randint(30, 1500) * 100 + rng.choice((0, 50, 90, 99)),
            )
        )
    sku, name, category = TOBACCO
    out.append(engine.Line(sku=sku, name=name, category=category, quantity=Decimal(1), price=21900))
    return engine.Receipt(store="bench", at=at, time_zone=TIME_ZONE, lines=tuple(out))


def summary(quote: engine.Quote, program: engine.Program) -> dict[str, Any]:
    """What the quote did, so a reader sees the rules were not idle."""
    line_rules = {code for line in quote.lines for code in line.rules}
    return {
        "rules_in_program": len(program.rules),
        "rules_applied": len(line_rules),
        "lines_with_rules": sum(1 for line in quote.lines if line.rules),
        "amount": quote.amount,
        "discount": quote.discount,
        "redeem_points": quote.redeem_points,
        "earn_points": quote.earn_points,
        "effects": len(quote.effects),
    }


def stats_us(samples_ns: list[int]) -> dict[str, float]:
    values = sorted(samples_ns)

    def rank(q: float) -> float:
        return values[min(len(values) - 1, max(0, int(q * len(values)) - 1))] / 1000

    return {
        "median_us": round(statistics.median(values) / 1000, 1),
        "p90_us": round(rank(0.90), 1),
        "p99_us": round(rank(0.99), 1),
        "mean_us": round(sum(values) / len(values) / 1000, 1),
        "min_us": round(values[0] / 1000, 1),
    }


def _module(filename: str, function: str) -> str:
    """Where a profiled function lives: an engine module, the stdlib's fractions or decimal, C."""
    if filename == "~":
        return "builtins (C: isinstance, sorted, sum, ...)"
    if "/kopilka/" in filename:
        return "kopilka/" + filename.split("/kopilka/", 1)[1]
    name = Path(filename).name
    if name in {"fractions.py", "decimal.py", "_pydecimal.py", "numbers.py"} or "abc" in filename:
        return (
            f"stdlib {name} (Fraction arithmetic and its ABC checks)"
            if name != "decimal.py"
            else "stdlib decimal.py"
        )
    return f"other: {name}"


def profile(call: Callable[[], object], calls: int, top: int = 15) -> dict[str, Any]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows: list[tuple[float, float, int, str]] = []
    total = 0.0
    modules: dict[str, float] = {}
    for (filename, line, function), (
        _cc,
        ncalls,
        tottime,
        cumtime,
        _callers,
    ) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        module = _module(filename, function)
        modules[module] = modules.get(module, 0.0) + tottime
        short = filename.split("site-packages/")[-1].split("/src/")[-1]
        if "/lib/python3" in short:
            short = "stdlib " + Path(short).name
        rows.append((tottime, cumtime, ncalls, f"{short}:{line}({function})"))

    def table(key: int) -> list[dict[str, Any]]:
        ranked = sorted(rows, key=lambda row: row[key], reverse=True)[:top]
        return [
            {
                "function": name,
                "calls_per_quote": round(ncalls / calls, 1),
                "own_us": round(tt / calls * 1e6, 1),
                "cumulative_us": round(ct / calls * 1e6, 1),
            }
            for tt, ct, ncalls, name in ranked
        ]

    return {
        "note": "under cProfile (inflates Python calls); µs per quote",
        "total_us_per_quote": round(total / calls * 1e6, 1),
        "own_time_share_by_module": {
            name: round(seconds / total, 3)
            for name, seconds in sorted(modules.items(), key=lambda item: -item[1])
        },
        "top_own_time": table(0),
        "top_cumulative": table(1),
    }


# The stage functions `quote` calls (program/engine/stages.py, in its order) and its own helpers.
STAGES = (
    "compiled",
    "excluded_actions",
    "eligible_rules",
    "line_plan",
    "bonus_hits",
    "choose",
    "discounts",
    "redemption_limits",
    "redeem_spread",
    "earning",
    "bonuses",
    "bonus_spread",
)
QUOTE_HELPERS = ("line_amount", "lot_dates", "_receipt_reasons")


def stage_breakdown(call: Callable[[], object], calls: int) -> dict[str, Any]:
    """Thread CPU time per stage of a quote: each stage function wrapped with a timer for the
    run (and put back after), a call made inside another timed stage charged to the outer one
    (`choose` includes the `worth` of its `best` candidates). Without cProfile's inflation,
    but with a timer's cost (~0.3 µs) per call."""
    import importlib

    quote_module = importlib.import_module("kopilka.program.engine.quote")
    totals: dict[str, int] = {}
    counts: dict[str, int] = {}
    depth = [0]
    clock = time.thread_time_ns
    originals: list[tuple[Any, str, Any]] = []

    def wrap(module: Any, name: str, label: str) -> None:
        real = getattr(module, name)
        originals.append((module, name, real))

        def timed(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return real(*args, **kwargs)
            depth[0] += 1
            t0 = clock()
            try:
                return real(*args, **kwargs)
            finally:
                totals[label] = totals.get(label, 0) + clock() - t0
                counts[label] = counts.get(label, 0) + 1
                depth[0] -= 1

        setattr(module, name, timed)

    for name in STAGES:
        wrap(stages, name, f"stages.{name}")
    for name in QUOTE_HELPERS:
        wrap(quote_module, name, f"quote.{name}")
    try:
        for _ in range(50):
            call()
        totals.clear()
        counts.clear()
        t0 = clock()
        for _ in range(calls):
            call()
        whole = (clock() - t0) / calls
    finally:
        for module, name, real in originals:
            setattr(module, name, real)
    rows = {
        label: {
            "us": round(total / calls / 1000, 1),
            "share": round(total / calls / whole, 3),
            "calls_per_quote": round(counts[label] / calls, 1),
        }
        for label, total in sorted(totals.items(), key=lambda item: -item[1])
    }
    rest = whole - sum(totals.values()) / calls
    rows["quote() itself (line and quote objects, sums, effects)"] = {
        "us": round(rest / 1000, 1),
        "share": round(rest / whole, 3),
        "calls_per_quote": 1,
    }
    return {
        "note": "thread CPU µs per quote, mean (timers included)",
        "quote_us": round(whole / 1000, 1),
        "stages": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=5000, help="quotes per case")
    parser.add_argument("--blocks", type=int, default=20, help="alternating blocks per case")
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--profile", action="store_true", help="profile even under the target")
    parser.add_argument(
        "--stages", action="store_true", help="add the time per stage (also when over target)"
    )
    args = parser.parse_args(argv)

    document = rules_document(args.rules, at=AT, time_zone=TIME_ZONE)
    ruled = program_from_document(document, version=1)
    default = engine.Program()
    the_receipt = receipt(AT, args.lines, args.seed)
    member = engine.MemberState(
        member_id=1,
        available=5000,
        pending=0,
        enrolled_at=AT - timedelta(days=5),
        spend=1_250_000,
        month_uses={"household-bonus": 1},
    )
    cases: dict[str, tuple[engine.Program, engine.Redeem]] = {
        f"rules_{args.rules}": (ruled, 0),
        "default": (default, 0),
        f"rules_{args.rules}_redeem_max": (ruled, "max"),
    }
    calls = {
        name: (lambda p=program, r=redeem: engine.quote(the_receipt, member, p, r))
        for name, (program, redeem) in cases.items()
    }
    # Beside the one receipt quoted again and again: 100 receipts of the same catalogue in turn
    # (other quantities, prices and lines), and the first quote of a version in a process (its
    # compiled rules and line plans made anew each time: what a worker pays once per version).
    others = itertools.cycle([receipt(AT, args.lines, args.seed + n) for n in range(1, 101)])
    calls[f"rules_{args.rules}_100_receipts"] = lambda: engine.quote(next(others), member, ruled)

    def first_quote() -> engine.Quote:
        stages.compiled_cache_clear()
        return engine.quote(the_receipt, member, ruled)

    calls[f"rules_{args.rules}_first_of_a_version"] = first_quote
    for call in calls.values():  # warm: imports, zoneinfo's cache, the first Fractions
        for _ in range(200):
            call()

    samples: dict[str, list[int]] = {name: [] for name in calls}
    cpu_samples: dict[str, list[int]] = {name: [] for name in calls}
    per_block = max(1, args.repetitions // args.blocks)
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    wall, own, machine = time.perf_counter(), own_cpu_seconds(), machine_cpu_seconds()
    for _ in range(args.blocks):
        for name, call in calls.items():
            out, cpu_out = samples[name], cpu_samples[name]
            for _ in range(per_block):
                c0, t0 = cpu_clock(), clock()
                call()
                t1, c1 = clock(), cpu_clock()
                out.append(t1 - t0)
                cpu_out.append(c1 - c0)
    own_s = own_cpu_seconds() - own
    wall_s = time.perf_counter() - wall
    other_s = max(0.0, machine_cpu_seconds() - machine - own_s)

    main_case = f"rules_{args.rules}"
    result: dict[str, Any] = {
        "benchmark": "engine_quote",
        "receipt_lines": len(the_receipt.lines),
        "at": AT.isoformat(),
        "time_zone": TIME_ZONE,
        "quotes_per_case": per_block * args.blocks,
        "gc": "enabled" if gc.isenabled() else "disabled",
    }
    for name in calls:
        result[name] = {**stats_us(samples[name]), "cpu": stats_us(cpu_samples[name])}
        if name in cases:
            program, redeem = cases[name]
            quoted = engine.quote(the_receipt, member, program, redeem)
            result[name] |= {"redeem": redeem, "quote": summary(quoted, program)}
    result["target"] = {
        "case": main_case,
        "median_us_max": TARGET_US,
        "met": bool(result[main_case]["median_us"] < TARGET_US),
        "met_in_cpu_time": bool(result[main_case]["cpu"]["median_us"] < TARGET_US),
    }
    result["cpu"] = {
        "wall_s": round(wall_s, 2),
        "own_s": round(own_s, 2),
        "other_s": round(other_s, 2),
        "quiet_machine": other_s < 0.05 * wall_s * (os.cpu_count() or 1),
    }
    if args.profile or not result["target"]["met"]:
        result["profile"] = {
            main_case: profile(calls[main_case], min(args.repetitions, 500)),
            "default": profile(calls["default"], min(args.repetitions, 500), top=8),
        }
    if args.stages or not result["target"]["met"]:
        result["stages"] = {
            main_case: stage_breakdown(calls[main_case], min(args.repetitions, 1000)),
            "default": stage_breakdown(calls["default"], min(args.repetitions, 1000)),
        }
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
