"""Benchmark: compile time of the shipped strategies, and Monte Carlo simulation throughput.

    .venv/bin/python benchmarks/bench_simulator.py [--accounts 10000] [--days 120] [--strategy FILE]

Runs in one process, so on one core. Prints figures; asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import glob
import resource
import statistics
import time
from datetime import UTC, datetime

from simulator.montecarlo import Behaviour, run_many
from strategies.compiler import compile_file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--strategy", action="append", help="default: every strategies/*.yaml")
    parser.add_argument("--repeat", type=int, default=20, help="compilations per strategy")
    args = parser.parse_args()
    files = args.strategy or sorted(glob.glob("strategies/*.yaml"))

    print(f"compile time over {args.repeat} runs (the first includes imports and caches):")
    for path in files:
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            compiled = compile_file(path)
            times.append(time.perf_counter() - began)
        steps = len(compiled.strategy.steps)
        print(
            f"  {path}: {steps} steps, first {times[0] * 1000:.1f} ms, "
            f"median {statistics.median(times[1:] or times) * 1000:.1f} ms"
        )

    start = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    print(f"\nMonte Carlo: {args.accounts} accounts x {args.days} days, one process:")
    for path in files:
        strategy = compile_file(path).strategy
        cpu0 = time.process_time()
        began = time.perf_counter()
        summary = run_many(strategy, args.accounts, args.days, start, Behaviour(), seed=7)
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu0
        contacts = statistics.fmean(summary.contacts) if summary.contacts else 0
        print(
            f"  {path}: {wall:.1f} s wall, {cpu:.1f} s CPU, {args.accounts / wall:.0f} accounts/s, "
            f"{contacts:.1f} contacts/account, legal {summary.reached_legal / args.accounts:.1%}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
