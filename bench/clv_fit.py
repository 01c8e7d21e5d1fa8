#!/usr/bin/env python
"""How long the CLV fits take on N simulated customers.

    .venv/bin/python bench/clv_fit.py --customers 1000000

Simulates --customers customers from known BG/NBD (r=0.25, alpha=4, a=0.8, b=2.5, weeks) and
Gamma-Gamma (p=6, q=4, v=15) parameters, acquired on a random day of the last --weeks weeks,
then times, one after another: the simulation, the BG/NBD fit, the Gamma-Gamma fit and the
52-week CLV of every customer. One JSON object goes to stdout with, per step, the wall seconds,
this process's CPU seconds and the CPU seconds used meanwhile by other processes (`other_s`,
from /proc/stat: a figure taken while something else was busy is not a figure), the recovered
parameters and how many distinct (frequency, recency, T) rows the BG/NBD fit worked on.
"""

import argparse
import json
import os
from dataclasses import asdict
from typing import Any

import numpy as np

from kopilka.analytics.clv import (
    BgNbdParams,
    GammaGammaParams,
    bgnbd_fit,
    clv,
    gamma_gamma_fit,
    simulate_bgnbd,
    simulate_gamma_gamma,
)
from timing import step

TRUE_BGNBD = BgNbdParams(r=0.25, alpha=4.0, a=0.8, b=2.5)
TRUE_GG = GammaGammaParams(p=6.0, q=4.0, v=15.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=104, help="acquisition window in weeks")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    steps: dict[str, Any] = {}
    with step("simulate", steps):
        T = rng.integers(1, args.weeks * 7 + 1, args.customers) / 7  # whole days, in weeks
        frequency, recency, T = simulate_bgnbd(TRUE_BGNBD, args.customers, T, rng)
        monetary_value = simulate_gamma_gamma(TRUE_GG, frequency, rng)
    with step("bgnbd_fit", steps):
        bgnbd, log_likelihood = bgnbd_fit(frequency, recency, T)
    with step("gamma_gamma_fit", steps):
        gg, gg_log_likelihood = gamma_gamma_fit(frequency, monetary_value)
    with step("clv_52_weeks", steps):
        values = clv(bgnbd, gg, frequency, recency, T, monetary_value, horizon_periods=52)

    rows = np.stack([frequency, np.round(recency * 7), np.round(T * 7)])
    result = {
        "customers": args.customers,
        "repeat_customers": int((frequency > 0).sum()),
        "distinct_rows_bgnbd": np.unique(rows, axis=1).shape[1],
        "steps": steps,
        "bgnbd": {"true": asdict(TRUE_BGNBD), "fitted": asdict(bgnbd), "ll": log_likelihood},
        "gamma_gamma": {"true": asdict(TRUE_GG), "fitted": asdict(gg), "ll": gg_log_likelihood},
        "mean_clv_52_weeks": float(values.mean()),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
