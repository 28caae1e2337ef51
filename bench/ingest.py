"""Benchmark of recording works, statements and CSV exports on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/timbre .venv/bin/python bench/ingest.py

Prints, all measured in this one process (these machines are noisy, so compare ratios):
  1. works/s through POST /api/v1/works/bulk in batches of 1,000 (every check, pricing,
     ledger, receipts, log; goal >= 5,000/s), driven in-process by DRF's APIClient with a
     brand's real API key and an Idempotency-Key per batch (middleware, authentication,
     parsing, the view and the services all run), and its ratio to a baseline that COPYs
     as many rows, shaped like works, into a bare table;
  2. the time of royalties.statements.compute for a payee whose month holds 1,000,000
     works (recorded through royalties.services.works_record in batches of 10,000, so the
     ledger rows are exactly the service's), as a ratio to a plain SQL SUM over the same
     postings: the payee's payable account in that month (goal <= 1.5);
  3. the peak Python memory (tracemalloc) of iterating royalties.exports.csv_rows for a
     month of 1,000,000 works against a month of 10,000 works (goal <= 1.2).
Licenses are issued as the app issues them: the offer has a minimum guarantee, so each
request awaits payment until an operator settles the fee with the manual backend
(payments.fees.fee_settle_manually), which books it and holds the guarantee.
Runs in a scratch database (test_<name>_bench_ingest) that it creates and drops, whatever
happens (Ctrl-C and SIGTERM included). About 3 minutes on 2 cores; with --quick (3 API
batches, months of 2,000 and 500 works) a few seconds, to check that it runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parse_args, scratch_database, setup

setup("ingest")

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

BATCH = 1000  # works per API request
BIG_BATCH = 10_000  # works per works_record call when building the big month
BEGUN = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - BEGUN:6.1f} s] {message}", flush=True)


# --- setup -------------------------------------------------------------------------------


class World:
    """A performer's voice, a brand with an API key, an operator, and licenses with no caps."""

    def __init__(self) -> None:
        from licensing import services
        from registry import services as registry_services
        from tests import factories as f

        self.operator = f.UserFactory(email="olive@example.com", is_staff=True)
        performer = f.PerformerFactory(stage_name="Alice Avery", user__email="alice@example.com")
        voice = f.VoiceFactory(performer=performer, display_name="Alice Warm")
        self.bob = f.MembershipFactory(
            brand__name="Bobcat Audio", user__email="bob@example.com", role="owner"
        ).user
        self.brand = self.bob.brand_memberships.get().brand
        self.offer = services.offer_publish(
            actor=performer.user,
            voice=voice,
            title="Ads, priced per work and per second, no caps",
            offer_terms=services.OfferTerms(
                uses=["advertising", "podcast"],
                territories=["US", "CA", "MX"],
                languages=["en", "es"],
                media=["tv", "online_video", "podcast"],
                max_term_days=730,
                currency="USD",
                upfront_fee=0,
                per_work=200,
                per_second="0.125",
                revenue_share_bps=150,
                minimum_guarantee=100_000,  # prepaid: the license waits for the payment
                requires_approval=False,
            ),
        )
        _, self.api_key = registry_services.api_key_create(
            actor=self.bob, owner=self.brand, name="bench"
        )

    def license(self, campaign: str) -> Any:
        """A license through the app's path: the brand requests it, the offer approves it at
        once, and an operator settles the fee's bank payment, which issues it."""
        from licensing import services
        from licensing.models import LicenseRequest
        from payments.fees import fee_settle_manually

        today = dt.date.today()
        req = services.request_submit(
            actor=self.bob,
            brand=self.brand,
            offer=self.offer,
            data=services.RequestInput(
                campaign=campaign,
                product="Cold brew cans",
                script_summary="A warm voice-over for a 30-second spot about our cold brew.",
                uses=["advertising"],
                territories=["US"],
                languages=["en-US"],
                media=["tv", "online_video"],
                valid_from=today,
                valid_until=today + dt.timedelta(days=364),
            ),
        )
        if req.status != LicenseRequest.Status.AWAITING_PAYMENT:
            raise RuntimeError(f"request {campaign!r} is {req.status}, not awaiting payment")
        return fee_settle_manually(operator=self.operator, request=req, reference=f"BENCH-{req.pk}")


def work_json(license_id: str, n: int) -> dict[str, Any]:
    return {
        "license_id": license_id,
        "client_ref": f"ad-{n}",
        "content_sha256": f"{n:064x}",
        "duration_ms": 30_000 + n % 1000,
        "language": "en-US",
        "territory": "US",
        "use": "advertising",
        "medium": "tv",
        "title": f"Spot {n}",
    }


# --- 1. ingest through the API -------------------------------------------------------------


def ingest_rates(world: World, license_id: str, batches: int, first: int) -> tuple[float, float]:
    """(API works/s, COPY rows/s): each API batch is followed by a COPY of as many rows,
    so both see the same moments of a noisy machine."""
    from django.db import transaction
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.api_key}")
    # Bodies are encoded before the clock starts: the client's work is not the server's.
    bodies = [
        json.dumps({"works": [work_json(license_id, first + b * BATCH + i) for i in range(BATCH)]})
        for b in range(batches)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_works (work_id text, license_id bigint, "
            "brand_id bigint, client_ref text, content_sha256 text, duration_ms bigint, "
            "language text, territory text, use text, medium text, title text, currency text, "
            "price bigint, recorded_at timestamptz, log_index bigint, receipt text, "
            "entry_id bigint)"
        )
    receipt = "e" * 560  # about the length of a real receipt
    at = dt.datetime.now(dt.UTC)
    api = copy = 0.0
    for b, body in enumerate(bodies):
        begun = time.perf_counter()
        response = client.post(
            "/api/v1/works/bulk",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"bench-{first + b * BATCH}",
        )
        api += time.perf_counter() - begun
        if response.status_code != 201 or response.json()["recorded"] != BATCH:
            raise RuntimeError(f"batch {b}: {response.status_code} {response.content[:500]!r}")
        begun = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy("COPY bench_works FROM STDIN") as rows:
                for i in range(BATCH):
                    n = first + b * BATCH + i
                    rows.write_row(
                        (
                            f"wrk_{n:026d}",
                            1,
                            1,
                            f"ad-{n}",
                            f"{n:064x}",
                            30_000,
                            "en-US",
                            "US",
                            "advertising",
                            "tv",
                            f"Spot {n}",
                            "USD",
                            404,
                            at,
                            n,
                            receipt,
                            1,
                        )
                    )
        copy += time.perf_counter() - begun
    return batches * BATCH / api, batches * BATCH / copy


# --- 2 and 3. a big month and a small one ---------------------------------------------------


def record_month(world: World, lic: Any, month: dt.date, works: int, first: int) -> None:
    """`works` works dated in `month`, through works_record in batches of 10,000."""
    from django.db import transaction

    from royalties.services import WorkInput, works_record

    at = dt.datetime(month.year, month.month, 2, 12, tzinfo=dt.UTC)
    done = 0
    begun = time.perf_counter()
    while done < works:
        n = min(BIG_BATCH, works - done)
        items = [
            WorkInput(
                license_id=lic.license_id,
                client_ref=f"m-{first + done + i}",
                content_sha256=f"{first + done + i:064x}",
                duration_ms=30_000 + i % 1000,
                language="en-US",
                territory="US",
                use="advertising",
                medium="tv",
                title=f"Spot {first + done + i}",
            )
            for i in range(n)
        ]
        with transaction.atomic():
            outcomes = works_record(
                brand=world.brand, items=items, now=at + dt.timedelta(seconds=done)
            )
        if any(o.status != "recorded" for o in outcomes):
            raise RuntimeError(f"refused: {next(o for o in outcomes if o.status != 'recorded')}")
        done += n
        if done % 100_000 == 0 or done == works:
            rate = done / (time.perf_counter() - begun)
            say(f"  {month:%Y-%m}: {done:,} works recorded ({rate:,.0f}/s)")


def statement_ratio(payee: Any, month: dt.date, rounds: int) -> tuple[float, float, Any, int]:
    """(compute seconds, plain SUM seconds, the statement, postings summed), medians of
    interleaved rounds."""
    from core.months import bounds
    from royalties.models import Account
    from royalties.statements import compute

    start, end = bounds(month)
    account_id = Account.objects.get(kind="payee_payable", currency="USD", payee=payee).pk
    plain_sql = (
        "SELECT SUM(p.amount), COUNT(*) FROM royalties_posting p "
        "JOIN royalties_journalentry e ON e.id = p.entry_id "
        "WHERE p.account_id = %s AND e.created_at >= %s AND e.created_at < %s"
    )
    full, plain = [], []
    data = None
    with connection.cursor() as cursor:
        for _ in range(rounds):
            begun = time.perf_counter()
            data = compute(payee, month, "USD")
            full.append(time.perf_counter() - begun)
            begun = time.perf_counter()
            cursor.execute(plain_sql, [account_id, start, end])
            total, postings = cursor.fetchone()
            plain.append(time.perf_counter() - begun)
    assert data is not None
    if -total != data.earnings - data.payouts:
        raise RuntimeError(f"statement earnings {data.earnings} disagree with the SUM {-total}")
    return statistics.median(full), statistics.median(plain), data, postings


def csv_peak(data: Any) -> tuple[int, int]:
    """(peak bytes, rows) of iterating the whole CSV export."""
    from royalties.exports import csv_rows

    rows = 0
    tracemalloc.start()
    try:
        for _ in csv_rows(data):
            rows += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, rows


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=30, help="API batches of 1,000 to time")
    parser.add_argument("--big", type=int, default=1_000_000, help="works in the big month")
    parser.add_argument("--small", type=int, default=10_000, help="works in the small month")
    parser.add_argument("--rounds", type=int, default=101, help="timed statements per month")
    args = parse_args(parser, quick={"batches": 3, "big": 2_000, "small": 500, "rounds": 5})

    with scratch_database("ingest"):
        settings.DEBUG = False  # no query log growing through a million works
        run(args)
    say("scratch database dropped")


def run(args: argparse.Namespace) -> None:
    from core.months import month_start, next_month
    from royalties.models import Payee

    world = World()
    api_license = world.license("API ingest")
    say(f"1. POST /api/v1/works/bulk: {args.batches} batches of {BATCH:,} works")
    ingest_rates(world, api_license.license_id, 2, first=10**9)  # warm up
    rate, base = ingest_rates(world, api_license.license_id, args.batches, first=0)
    say("2-3. building the months")
    small_month = next_month(month_start(dt.date.today()))
    big_month = next_month(small_month)
    lic = world.license("Statements")
    record_month(world, lic, small_month, args.small, first=0)
    record_month(world, lic, big_month, args.big, first=args.small)
    payee = Payee.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the statistics autovacuum would have after such a load
    say("2. statements")
    stmt, plain, data, postings = statement_ratio(payee, big_month, args.rounds)
    small_stmt, small_plain, small_data, _ = statement_ratio(payee, small_month, args.rounds)
    for month_data, works in ((data, args.big), (small_data, args.small)):
        if sum(line["works"] for line in month_data.lines) != works:
            raise RuntimeError(f"the statement of {month_data.month} misses works")
    say("3. CSV export peaks")
    csv_peak(small_data)  # warm up
    small_peak, small_rows = csv_peak(small_data)
    big_peak, big_rows = csv_peak(data)

    print()
    print(f"1. bulk ingest: {rate:,.0f} works/s (batches of {BATCH:,}; goal >= 5,000/s)")
    print(
        f"   baseline COPY of as many work rows: {base:,.0f} rows/s; "
        f"ingest / COPY = {rate / base:.3f}"
    )
    print(
        f"2. statement with {args.big:,} works: compute {stmt * 1e3:.2f} ms, "
        f"plain SUM {plain * 1e3:.2f} ms; ratio = {stmt / plain:.2f} (goal <= 1.5)"
    )
    print(f"   (the SUM reads the month's {postings:,} payable postings, one per batch)")
    print(
        f"   (with {args.small:,} works: compute {small_stmt * 1e3:.2f} ms, "
        f"plain SUM {small_plain * 1e3:.2f} ms; ratio = {small_stmt / small_plain:.2f})"
    )
    print(
        f"3. CSV export peak memory: {small_peak / 1024:,.0f} KiB for {small_rows:,} rows "
        f"({args.small:,} works), {big_peak / 1024:,.0f} KiB for {big_rows:,} rows "
        f"({args.big:,} works); ratio = {big_peak / small_peak:.2f} (goal <= 1.2)"
    )


if __name__ == "__main__":
    main()
