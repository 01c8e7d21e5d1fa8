"""What the benchmarks share for timing a step: wall seconds, our CPU, and everyone else's CPU."""

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (/proc/stat, without idle and iowait)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


@contextmanager
def step(name: str, report: dict[str, Any]) -> Iterator[None]:
    """Time the block into report[name]: seconds, cpu_s (ours) and other_s (the rest of the
    machine: a figure taken while something else was busy is not a figure)."""
    print(f"{name}...", file=sys.stderr)
    wall, own, machine = time.perf_counter(), own_cpu_seconds(), machine_cpu_seconds()
    yield
    own_s = own_cpu_seconds() - own
    report[name] = {
        "seconds": round(time.perf_counter() - wall, 3),
        "cpu_s": round(own_s, 3),
        "other_s": round(max(0.0, machine_cpu_seconds() - machine - own_s), 3),
    }
    print(f"{name}: {report[name]}", file=sys.stderr)
