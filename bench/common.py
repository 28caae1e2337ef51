"""What every benchmark here sets up before Django reads its settings, and around its run.

Import this module first and call setup(): it makes a scratch folder, points the signing
keys (generated there on first use), the C2PA identity, media and email at it, then calls
django.setup(). Then parse the arguments with parse_args() (every benchmark takes
--quick) and run inside scratch_database(), which creates the benchmark's own database
and drops it whatever happens; the scratch folder goes when the process ends.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django

ROOT = Path(__file__).resolve().parent.parent


def setup(name: str) -> Path:
    """Configure and start Django for the benchmark `name`; return its scratch folder."""
    sys.path.insert(0, str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix=f"timbre-bench-{name}-"))
    # Removed however the process ends short of being killed (--help, an error, a signal,
    # which scratch_database() turns into an exit): the folder holds private keys.
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timbre.settings")
    os.environ.setdefault("TIMBRE_TESTING", "1")
    # Keys of the run's own, never the developer's var/keys/: generated on first use here
    # (TIMBRE_TESTING), and handed as files to a production-like server (bench/verify.py).
    os.environ["TIMBRE_LOG_KEY_FILE"] = str(scratch / "log.pem")
    os.environ["TIMBRE_LICENSE_KEY_FILE"] = str(scratch / "license.pem")
    os.environ["TIMBRE_C2PA_KEY_FILE"] = str(scratch / "c2pa-signer.pem")
    os.environ["TIMBRE_C2PA_CHAIN_FILE"] = str(scratch / "c2pa-chain.pem")
    os.environ["TIMBRE_C2PA_ROOT_FILE"] = str(scratch / "c2pa-root.pem")
    os.environ["MEDIA_ROOT"] = str(scratch / "media")
    # Thousands of issuances would mean thousands of notification emails: send none.
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    django.setup()
    return scratch


def parse_args(parser: argparse.ArgumentParser, quick: dict[str, Any]) -> argparse.Namespace:
    """The benchmark's arguments, plus --quick: the `quick` sizes become the defaults
    (options given explicitly still win). Quick runs take the same code paths in a few
    seconds; they check that the benchmark works, and their figures mean little."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, a few seconds: check that the benchmark runs (CI), not its figures",
    )
    known, _ = parser.parse_known_args()
    if known.quick:
        parser.set_defaults(**quick)
    return parser.parse_args()


def _stopped(signum: int, frame: Any) -> None:
    raise SystemExit(f"{Path(sys.argv[0]).name}: stopped by signal {signum}; cleaning up")


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """Run in a PostgreSQL database of the benchmark's own, test_<database>_bench_<name>
    (a leftover of an interrupted run is replaced), and drop it afterwards, whatever
    happens: an error, Ctrl-C, SIGTERM or SIGHUP (a time limit, a CI cancel), which unwind
    like Ctrl-C. Yields the database's name."""
    from django.db import connection
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        sys.exit(f"bench/{name}.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    signal.signal(signal.SIGTERM, _stopped)
    signal.signal(signal.SIGHUP, _stopped)
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    # A name of its own: pytest and the other benchmarks use test_<name> or theirs.
    test_name = f"test_{old_name}_bench_{name}"
    connection.settings_dict["TEST"]["NAME"] = test_name
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        yield test_name
    finally:
        # create_test_db switches to the new name as soon as the database exists, so a
        # failed migration still drops it.
        if connection.settings_dict["NAME"] == test_name:
            connection.creation.destroy_test_db(old_name, verbosity=0)
