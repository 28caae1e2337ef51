"""Shared fixtures: personas, and which suites run where (sample files: tests/helpers.py).

Suites marked ``postgres`` need PostgreSQL behaviour (row locks, constraints) and run when
DATABASE_URL points at PostgreSQL; ``worker`` suites need a real Celery worker over Redis
(CELERY_BROKER_URL); ``browser`` suites need ``--browser`` and Chromium. Elsewhere they are
deselected — and listed as such at the end of the run. With TIMBRE_REQUIRE_SERVICES=1 (CI)
a deselection is an error instead, so a misconfigured CI cannot pass by running less.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests import factories as f

BROWSER_OPTION = "--browser"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        BROWSER_OPTION, action="store_true", help="run the Playwright browser journeys"
    )


def _unavailable(config: pytest.Config) -> dict[str, str]:
    reasons = {}
    if connection.vendor != "postgresql":
        reasons["postgres"] = "DATABASE_URL does not point at PostgreSQL"
    if not settings.CELERY_BROKER_URL or settings.CELERY_BROKER_URL.startswith("memory"):
        reasons["worker"] = "CELERY_BROKER_URL is not set (tasks run in-process)"
    if not config.getoption(BROWSER_OPTION):
        reasons["browser"] = "run with --browser (make test-browser)"
    return reasons


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reasons = _unavailable(config)
    browser_only = config.getoption(BROWSER_OPTION)
    keep, drop = [], []
    for item in items:
        markers = {m.name for m in item.iter_markers()}
        if browser_only and "browser" not in markers:
            drop.append(item)  # the browser stage runs only the journeys
        elif markers & reasons.keys():
            drop.append(item)
        else:
            keep.append(item)
    if not drop:
        return
    needed = {m.name for item in drop for m in item.iter_markers() if m.name in reasons}
    if os.environ.get("TIMBRE_REQUIRE_SERVICES") == "1" and needed & {"postgres", "worker"}:
        missing = "; ".join(f"{k}: {v}" for k, v in reasons.items() if k != "browser")
        raise pytest.UsageError(f"TIMBRE_REQUIRE_SERVICES=1 but services are missing: {missing}")
    config.hook.pytest_deselected(items=drop)
    items[:] = keep
    config._timbre_deselected = {  # type: ignore[attr-defined]
        name: (reason, sum(1 for i in drop if i.get_closest_marker(name)))
        for name, reason in reasons.items()
    }


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    deselected = getattr(config, "_timbre_deselected", {})
    lines = [
        f"{count} {name} tests not run here: {why}"
        for name, (why, count) in deselected.items()
        if count
    ]
    if lines:
        terminalreporter.section("suites that run elsewhere (CI runs them all)")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))
    settings.TIMBRE_PRIVATE_ROOT = str(tmp_path_factory.mktemp("private"))


@pytest.fixture(autouse=True, scope="session")
def _log_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One log signing key per test session, generated outside the working tree."""
    folder = tmp_path_factory.mktemp("keys")
    settings.TIMBRE_LOG_KEY_FILE = folder / "log.pem"
    settings.TIMBRE_LICENSE_KEY_FILE = folder / "license.pem"
    settings.TIMBRE_C2PA_KEY_FILE = folder / "c2pa-signer.pem"
    settings.TIMBRE_C2PA_CHAIN_FILE = folder / "c2pa-chain.pem"
    settings.TIMBRE_C2PA_ROOT_FILE = folder / "c2pa-root.pem"


@pytest.fixture
def dns_stub(settings: Any) -> Any:
    """A DNS server on 127.0.0.1 that the registry's resolver asks (tests/dns_stub.py)."""
    from tests.dns_stub import DnsStub

    stub = DnsStub()
    settings.TIMBRE_DNS_NAMESERVERS = [("127.0.0.1", stub.port)]
    settings.TIMBRE_DNS_TIMEOUT = 0.5
    yield stub
    stub.close()


# --- personas ---------------------------------------------------------------------------


@pytest.fixture
def performer_alice(db: None) -> Any:
    return f.PerformerFactory(stage_name="Alice Avery", user__email="alice@example.com")


@pytest.fixture
def performer_dave(db: None) -> Any:
    return f.PerformerFactory(stage_name="Dave Dunn", user__email="dave@example.com")


@pytest.fixture
def late_frank(db: None) -> Any:
    """A late performer, with no account of his own."""
    return f.PerformerFactory(stage_name="Frank Fields", user=None, is_living=False)


@pytest.fixture
def executor_erin(db: None, late_frank: Any) -> Any:
    """Executor of Frank's estate, with verified authority."""
    authority = f.AuthorityFactory(
        performer=late_frank, kind="estate_executor", representative__user__email="erin@example.com"
    )
    return authority.representative.user


@pytest.fixture
def agent_gina(db: None, performer_alice: Any) -> Any:
    """Alice's agent, with verified authority."""
    authority = f.AuthorityFactory(
        performer=performer_alice, kind="agent", representative__user__email="gina@example.com"
    )
    return authority.representative.user


@pytest.fixture
def brand_bob(db: None) -> Any:
    """Bob, owner of the brand Bobcat Audio."""
    membership = f.MembershipFactory(
        brand__name="Bobcat Audio", user__email="bob@example.com", role="owner"
    )
    return membership.user


@pytest.fixture
def brand_hank(db: None) -> Any:
    """Hank, owner of a rival brand."""
    membership = f.MembershipFactory(
        brand__name="Hank's Hats", user__email="hank@example.com", role="owner"
    )
    return membership.user


@pytest.fixture
def outsider_carol(db: None) -> Any:
    return f.UserFactory(email="carol@example.com")


@pytest.fixture
def auditor_ada(db: None) -> Any:
    return f.AuditorFactory(user__email="ada@example.com").user
