"""Benchmark of license verification on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/timbre .venv/bin/python bench/verify.py

Prints, all measured in this one process (these machines are noisy, so compare ratios):
  - batch verification: licenses/s through licensing.verification.verify_licenses, 1,000
    real licenses per call (signature, key status, license status, inclusion proof
    against a signed checkpoint), as a ratio to a bare Ed25519 verify loop over the same
    tokens' signing inputs (goal >= 0.8);
  - POST /api/v1/verify, one license per request, in requests/s as a ratio to a bare
    Django view returning a small JSON object (goal >= 0.5); both are served by the same
    gunicorn (DEBUG off, bench/settings.py) under the same load from this script. Two
    calibration points too: a bare view plus one Ed25519 verify, and the verify view
    with each token's verdict remembered (the API layer alone, bench/urls.py).
The server runs as in production, so it is given what production must have: signing keys
and a C2PA identity as files (made in the scratch folder, the identity by `manage.py
c2pa_identity create`, as an operator makes it).
Runs in a scratch database of its own (test_<name>_bench_verify) that it creates and drops,
and bounds its own time: whatever happens, gunicorn is stopped and the database dropped.
With --quick (50 licenses, one short HTTP run per path) it takes seconds, to check it runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import json
import multiprocessing
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, parse_args, scratch_database, setup

SCRATCH = setup("verify")

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

TIME_LIMIT = 240  # seconds, for the whole run
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


# --- setup -------------------------------------------------------------------------------


def issue_licenses(n: int) -> list[str]:
    """n licenses through the services (one free, auto-approved offer), then a checkpoint."""
    from django.db import transaction

    from licensing import services
    from licensing.models import License
    from tests import factories as f
    from transparency.services import checkpoint_sign

    performer = f.PerformerFactory(stage_name="Alice Avery", user__email="alice@example.com")
    voice = f.VoiceFactory(performer=performer, display_name="Alice Warm")
    bob = f.MembershipFactory(
        brand__name="Bobcat Audio", user__email="bob@example.com", role="owner"
    ).user
    brand = bob.brand_memberships.get().brand
    offer = services.offer_publish(
        actor=performer.user,
        voice=voice,
        title="Ads, free for the bench",
        offer_terms=services.OfferTerms(
            uses=["advertising", "podcast"],
            territories=["US", "CA", "MX"],
            languages=["en", "es"],
            media=["tv", "online_video", "podcast"],
            max_term_days=730,
            currency="USD",
            upfront_fee=0,  # no payment to wait for: approval issues the license at once
            requires_approval=False,
        ),
    )
    today = dt.date.today()
    for i in range(n):
        services.request_submit(
            actor=bob,
            brand=brand,
            offer=offer,
            data=services.RequestInput(
                campaign=f"Campaign {i}",
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
    with transaction.atomic():
        checkpoint_sign()
    tokens = list(License.objects.order_by("log_index").values_list("jws", flat=True))
    if len(tokens) != n:
        raise RuntimeError(f"issued {len(tokens)} licenses, expected {n}")
    return tokens


# --- 1. batch verification ----------------------------------------------------------------


def check_verdicts(verdicts: list[Any]) -> None:
    """Every license must come back valid, with its document and a proof."""
    for v in verdicts:
        if not (
            v.valid
            and v.license_status == "active"
            and v.key_status == "active"
            and v.document["license_id"] == v.license_id
            and v.inclusion
            and v.inclusion["proof"]
        ):
            raise RuntimeError(f"unexpected verdict: {v}")


def batch_ratio(tokens: list[str], rounds: int) -> tuple[float, float, float]:
    """(service licenses/s on the first call, then the median of later calls, bare
    Ed25519 verifies/s): the first call finds the checkpoint's proof store empty."""
    from licensing.keys import trusted_keys
    from licensing.verification import verify_licenses
    from verifier.jws import decode_jws

    [(_, public_key)] = trusted_keys().values()
    signed = [(d.signature, d.signing_input) for d in map(decode_jws, tokens)]

    def bare() -> None:
        verify = public_key.verify
        for signature, signing_input in signed:
            verify(signature, signing_input)

    def service() -> None:
        check_verdicts(verify_licenses(tokens))

    first = _timed(service)
    bare()
    service_times, bare_times = [], []
    for _ in range(rounds):
        service_times.append(_timed(service))
        bare_times.append(_timed(bare))
    n = len(tokens)
    return n / first, n / statistics.median(service_times), n / statistics.median(bare_times)


def _timed(fn: Callable[[], None]) -> float:
    begun = time.perf_counter()
    fn()
    return time.perf_counter() - begun


# --- 2. over HTTP ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scratch_database_url() -> str:
    """DATABASE_URL with the scratch database's name, for the server to use."""
    db = connection.settings_dict
    userinfo = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        userinfo += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{userinfo}@{host}/{quote(db['NAME'], safe='')}"


def start_server(port: int, database_url: str, workers: int) -> subprocess.Popen[bytes]:
    """gunicorn as in production: DEBUG off, real secrets and key files, our scratch DB."""
    # Production settings refuse to start without the C2PA identity's files. Make them the
    # operator's way, at the paths common.setup() put in the environment the server inherits
    # (the license and log keys are there already: issuing made them).
    call_command("c2pa_identity", "create", stdout=io.StringIO())
    env = {k: v for k, v in os.environ.items() if k not in {"TIMBRE_TESTING", "DEBUG"}}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url,
        # The public endpoints are throttled; the bench measures the view, not the limiter.
        TIMBRE_PUBLIC_RATE="1000000000/s",
        STATIC_ROOT=str(SCRATCH / "static"),
        LOG_LEVEL="WARNING",
    )
    (SCRATCH / "static").mkdir(exist_ok=True)
    log = (SCRATCH / "gunicorn.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
        [
            str(GUNICORN),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
            "timbre.wsgi:application",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stopping it stops its workers
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(SCRATCH / 'gunicorn.log').read_text()}")
            try:
                status, _ = request_once(port, "/bench/bare", b"{}")
                if status == 200:
                    return server
            except OSError:
                pass  # not listening yet
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 30 s")
    except BaseException:
        # Whatever stops the wait (no answer, the time limit, a signal) stops the server.
        stop_server(server)
        raise


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def request_once(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# Set before the load processes fork, so they inherit the request bodies.
_BODIES: list[bytes] = []


def _client(port: int, path: str, seconds: float, expect: bytes, offset: int) -> int:
    """One client: requests back to back on one keep-alive connection (reopened if the
    server closes it), until the time is up. Returns the number of good answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    done = 0
    i = offset
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        conn.request("POST", path, _BODIES[i % len(_BODIES)], headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200 or expect not in data:
            raise RuntimeError(f"{path} answered {response.status}: {data[:300]!r}")
        done += 1
        i += 1
    conn.close()
    return done


def http_rates(
    port: int, paths: dict[str, tuple[str, bytes]], clients: int, seconds: float, rounds: int
) -> dict[str, float]:
    """Requests/s per named path: the same clients and duration for each, interleaved."""
    context = multiprocessing.get_context("fork")
    rates: dict[str, list[float]] = {name: [] for name in paths}
    with context.Pool(clients, initializer=_default_signals) as pool:
        for round_ in range(rounds + 1):
            for name, (path, expect) in paths.items():
                args = [(port, path, seconds, expect, c * 7919) for c in range(clients)]
                begun = time.perf_counter()
                done = sum(pool.starmap(_client, args))
                if round_:  # the first round warms workers, connections and caches
                    rates[name].append(done / (time.perf_counter() - begun))
    return {name: statistics.median(values) for name, values in rates.items()}


# --- main -----------------------------------------------------------------------------------


def _out_of_time(signum: int, frame: Any) -> None:
    raise TimeoutError(f"bench/verify.py took longer than {TIME_LIMIT} s; stopping")


def _default_signals() -> None:
    """In the load processes: the pool stops them with SIGTERM, which must just end them."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--licenses", type=int, default=1000, help="licenses per batch call")
    parser.add_argument("--rounds", type=int, default=7, help="timed batch calls")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--seconds", type=float, default=3.0, help="per client, per run")
    parser.add_argument("--http-rounds", type=int, default=3, help="interleaved HTTP runs")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parse_args(
        parser,
        quick={
            "licenses": 50,
            "rounds": 2,
            "clients": 2,
            "seconds": 0.5,
            "http_rounds": 1,
            "workers": 1,
        },
    )

    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(TIME_LIMIT)
    try:
        with scratch_database("verify"):
            run(args)
    finally:
        signal.alarm(0)


def run(args: argparse.Namespace) -> None:
    begun = time.perf_counter()
    tokens = issue_licenses(args.licenses)
    n = len(tokens)
    print(f"issued {n:,} licenses and a checkpoint in {time.perf_counter() - begun:.1f} s")

    cold, service, bare = batch_ratio(tokens, args.rounds)
    print(
        f"batch verify_licenses: {service:,.0f} licenses/s "
        f"({n:,} per call; {1e6 / service:.0f} us each; median of {args.rounds})"
    )
    print(
        f"  bare Ed25519 verify loop: {bare:,.0f} verifies/s ({1e6 / bare:.0f} us each); "
        f"service / bare = {service / bare:.2f} (goal >= 0.8)"
    )
    print(f"  first call, proof store empty: {cold:,.0f} licenses/s; / bare = {cold / bare:.2f}")

    port = free_port()
    server = start_server(port, scratch_database_url(), args.workers)
    # Stopped before scratch_database() drops the database its workers are connected to.
    try:
        _BODIES[:] = [json.dumps({"jws": token}).encode() for token in tokens]
        # The load processes fork from here: none of them may share this connection.
        connection.close()
        rates = http_rates(
            port,
            {
                "bare": ("/bench/bare", b'"ok"'),
                "bare+ed25519": ("/bench/bare-ed25519", b'"ok"'),
                "verify": ("/api/v1/verify", b'"valid":true'),
                "remembered": ("/bench/verify-remembered", b'"valid":true'),
            },
            args.clients,
            args.seconds,
            args.http_rounds,
        )
        print(
            f"POST /api/v1/verify: {rates['verify']:,.0f} requests/s, one license each "
            f"(gunicorn -w {args.workers}, {args.clients} keep-alive clients, "
            f"{args.seconds:g} s x {args.http_rounds} runs, medians)"
        )
        print(
            f"  bare Django view: {rates['bare']:,.0f} requests/s; "
            f"verify / bare = {rates['verify'] / rates['bare']:.2f} (goal >= 0.5)"
        )
        print(
            f"  calibration, bare view + one Ed25519 verify: {rates['bare+ed25519']:,.0f} "
            f"requests/s; / bare = {rates['bare+ed25519'] / rates['bare']:.2f}"
        )
        print(
            f"  calibration, the verify view with verdicts remembered (API layer only): "
            f"{rates['remembered']:,.0f} requests/s; / bare = "
            f"{rates['remembered'] / rates['bare']:.2f}"
        )
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
