"""The demo's closed month verifies offline, with the files the README's command reads."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from core.months import previous_month
from registry.models import ApiKey
from royalties.models import Statement
from tests.royalties.helpers import run_statement_check

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_months_statements_verify_with_the_readme_command(
    live_server: Any, tmp_path: Path
) -> None:
    files = tmp_path / "demo"
    call_command("seed_demo", files=str(files))
    closed = Statement.objects.filter(period__closed_at__isnull=False).exclude(jws="")
    assert closed.exists()
    jws = (files / "statement-june-USD.jws").read_text().strip()
    stored = closed.get(payee__name="June Calloway")  # June's, in dollars
    assert stored.jws == jws and stored.period.month == previous_month(date.today())
    args = ("--key-file", str(files / "auditor.key"))
    assert run_statement_check(live_server.url, jws, tmp_path, *args) == 0
    # The union fund's contributions (June's union offer, which Ada may read) verify too.
    union = (files / "statement-sag-aftra-USD.jws").read_text().strip()
    assert run_statement_check(live_server.url, union, tmp_path, *args) == 0
    assert (files / "log.vkey").read_text().strip().startswith("127.0.0.1")
    # Run again: the same key file still works, and no second key was made.
    keys = ApiKey.objects.count()
    call_command("seed_demo", files=str(files))
    assert ApiKey.objects.count() == keys
    assert run_statement_check(live_server.url, jws, tmp_path, *args) == 0


def test_log_audit_and_the_monitor_pass_over_the_demos_log(
    live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transparency import keys as log_keys
    from transparency.models import LogEntry
    from verifier.cli import main

    call_command("seed_demo", files=str(tmp_path / "demo"))
    kinds = set(LogEntry.objects.values_list("event_type", flat=True))
    assert {"statement.issued", "work.recorded", "license.issued"} <= kinds
    call_command("log_audit")
    state = tmp_path / "monitor.json"
    argv = ["monitor", "--url", live_server.url, "--state", str(state)]
    assert main([*argv, "--verifier-key", log_keys.verifier_key()]) == 0
    assert f"{LogEntry.objects.count()} events checked" in capsys.readouterr().out
