"""Benchmark of the transparency log on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/timbre .venv/bin/python bench/log.py

Prints, all measured in this one process (these machines are noisy, so compare ratios):
  - batch append rate: entries/s in batches of 1,000 (goal >= 20,000/s on 2 cores), and
    its ratio to a baseline that COPYs the same rows with no hashing, locking or tree work;
  - inclusion-proof time at 1,000,000 entries against 1,000 entries (goal <= 2).
Runs in a scratch database of its own (test_<name>_bench_log) that it creates and drops.
With --quick, a log of 5,000 entries and 3 timed batches: a few seconds, to check it runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parse_args, scratch_database, setup

setup("log")

from django.db import connection  # noqa: E402

BATCH = 1000


def events(start: int, n: int) -> list[dict[str, str]]:
    from transparency.services import event

    return [
        event(
            "work.recorded",
            work_id=f"w{start + i}",
            license_id="lic_bench",
            content_sha256="ab" * 32,
            duration_ms="1000",
        )
        for i in range(n)
    ]


def append_rate(batches: int) -> float:
    from transparency.services import log_append

    begun = time.perf_counter()
    for b in range(batches):
        log_append(events=events(b * BATCH, BATCH))
    return batches * BATCH / (time.perf_counter() - begun)


def baseline_rate(batches: int) -> float:
    """The floor: COPY the same-sized rows into a bare table, one transaction per batch."""
    from django.db import transaction

    from verifier.jcs import canonical_json

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_rows (i bigint, data bytea, h bytea, t text, at timestamptz)"
        )
    rows = [canonical_json(e) for e in events(0, BATCH)]
    begun = time.perf_counter()
    for b in range(batches):
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy("COPY bench_rows FROM STDIN") as copy:
                for i, data in enumerate(rows):
                    copy.write_row(
                        (b * BATCH + i, data, data[:32], "work.recorded", "2026-01-01T00:00:00Z")
                    )
    return batches * BATCH / (time.perf_counter() - begun)


def proof_time(size: int, samples: int) -> float:
    from transparency.selectors import inclusion_proof

    rng = random.Random(size)
    timings = []
    for _ in range(samples):
        index = rng.randrange(size)
        begun = time.perf_counter()
        inclusion_proof(index, size)
        timings.append(time.perf_counter() - begun)
    return statistics.median(timings)


def grow_to(target: int) -> None:
    from transparency.selectors import load_head
    from transparency.services import log_append

    size = load_head().size
    while size < target:
        n = min(5000, target - size)
        log_append(events=events(size, n))
        size += n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000, help="size of the big log")
    parser.add_argument("--batches", type=int, default=30, help="batches of 1,000 to time")
    parser.add_argument("--samples", type=int, default=300, help="inclusion proofs timed")
    args = parse_args(parser, quick={"entries": 5_000, "batches": 3, "samples": 50})
    if args.entries < BATCH:
        parser.error(f"--entries must be at least {BATCH:,}")

    with scratch_database("log"):
        grow_to(BATCH)
        small = proof_time(BATCH, args.samples)
        rate = append_rate(args.batches)
        base = baseline_rate(args.batches)
        print(f"batch append: {rate:,.0f} entries/s (batches of {BATCH:,}; goal >= 20,000/s)")
        print(
            f"  baseline COPY of the same rows: {base:,.0f} rows/s; "
            f"append / baseline = {rate / base:.2f}"
        )
        begun = time.perf_counter()
        grow_to(args.entries)
        print(f"  grew the log to {args.entries:,} entries in {time.perf_counter() - begun:,.1f} s")
        big = proof_time(args.entries, args.samples)
        print(
            f"inclusion proof: {small * 1e3:.3f} ms at {BATCH:,} entries, "
            f"{big * 1e3:.3f} ms at {args.entries:,} entries"
        )
        print(f"  ratio at {args.entries:,} / at {BATCH:,} = {big / small:.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
