"""Benchmark: compile time of the shipped strategies, Monte Carlo throughput per strategy beside a
baseline from the same run, and a whole portfolio (1,000,000 accounts) on several processes.

    .venv/bin/python benchmarks/bench_simulator.py [--accounts 10000] [--days 120] [--strategy FILE]
    .venv/bin/python benchmarks/bench_simulator.py --skip-compile --million [--processes 2]

Per strategy: `--accounts` synthetic accounts (the default portfolio, seed 7) over `--days` in one
process, the strategy's arm only. The baseline is benchmarks/strategies/bare-wait.yaml on the same
accounts (every account only waits: the harness's own cost), measured before and after the
strategies; a strategy's rate over the baseline's is the figure to compare across runs on a shared
machine. `--million`: the what-if analysis of cl-consumer with its self-cure baseline on
1,000,000 accounts x 120 days over `--processes` processes, with the load average before and
after. Prints figures; asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import statistics
import time
from datetime import UTC, datetime

from simulator.montecarlo import Job, analyse
from simulator.portfolio import PortfolioDoc
from strategies.compiler import compile_file

START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
BARE = "benchmarks/strategies/bare-wait.yaml"
WHOLE = "strategies/cl-consumer.yaml"


def rate(path: str, accounts: int, days: int, processes: int = 1, baseline: bool = False) -> tuple[float, float, Job]:
    """(wall seconds, CPU seconds of this process, the job) for `accounts` through `path`."""
    strategy = compile_file(path).strategy
    job = Job(
        strategy=strategy,
        portfolio=PortfolioDoc(),
        accounts=accounts,
        days=days,
        start=START,
        seed=7,
        baseline=baseline,
    )
    cpu0 = time.process_time()
    began = time.perf_counter()
    analysis = analyse(job, processes)
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu0
    overall = analysis.strategy.overall
    contacts = statistics.fmean(analysis.strategy.contacts) if analysis.strategy.contacts else 0
    recovery = overall.collected / overall.placed if overall.placed else 0
    print(
        f"  {path}: {wall:.1f} s wall, {cpu:.1f} s CPU, {accounts / wall:,.0f} accounts/s, "
        f"{contacts:.1f} contacts/account, recovery {recovery:.1%}, legal {overall.reached_legal / accounts:.1%}",
        flush=True,
    )
    return wall, cpu, job


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--strategy", action="append", help="default: every strategies/*.yaml")
    parser.add_argument("--repeat", type=int, default=20, help="compilations per strategy")
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--skip-strategies", action="store_true")
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 accounts of cl-consumer")
    parser.add_argument("--processes", type=int, default=2, help="for --million")
    parser.add_argument("--whole", type=int, default=1_000_000, help="accounts of --million (for a shorter try)")
    args = parser.parse_args()
    files = args.strategy or sorted(glob.glob("strategies/*.yaml"))

    if not args.skip_compile:
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

    if not args.skip_strategies:
        print(f"\nMonte Carlo: {args.accounts:,} accounts x {args.days} days, one process (load {_load()}):")
        rate(BARE, min(args.accounts, 1_000), args.days)  # warm-up: imports, compiled conditions, zone data
        print("  (the warm-up above is not counted)")
        bare = [rate(BARE, args.accounts, args.days)[:2]]
        spent = {path: rate(path, args.accounts, args.days)[:2] for path in files}
        bare.append(rate(BARE, args.accounts, args.days)[:2])
        base_wall = args.accounts / statistics.fmean(w for w, _ in bare)
        base_cpu = args.accounts / statistics.fmean(c for _, c in bare)
        print(
            f"\n  baseline (bare wait, mean of before and after): {base_wall:,.0f} accounts/s, "
            f"{base_cpu:,.0f} per CPU-second; load {_load()}"
        )
        for path, (wall, cpu) in spent.items():
            per_s, per_cpu = args.accounts / wall, args.accounts / cpu
            print(
                f"  {path}: {per_s:,.0f} accounts/s ({per_s / base_wall:.3f} x the baseline), "
                f"{per_cpu:,.0f} per CPU-second ({per_cpu / base_cpu:.3f} x)"
            )

    if args.million:
        accounts = args.whole
        print(
            f"\nwhole portfolio: {accounts:,} accounts x {args.days} days, {args.processes} processes, "
            f"with the self-cure baseline; load before {_load()}",
            flush=True,
        )
        wall, _, _ = rate(WHOLE, accounts, args.days, args.processes, baseline=True)
        print(f"  {wall / 60:.1f} min; load after {_load()}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MiB (this process)")


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
