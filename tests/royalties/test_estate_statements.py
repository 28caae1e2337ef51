"""The statements of a month in which a late-recorded death moved works to the estate
still agree with the log and the signed terms, the old payee's and the estate's alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from registry import services as registry_services
from royalties.estates import Heir, performer_record_death
from royalties.models import Statement
from royalties.statements import period_close
from tests.helpers import consent_runs_until
from tests.royalties.helpers import licensed, run_statement_check
from tests.royalties.test_signed_statements import _payload, _record


def test_the_old_payees_and_the_estates_statements_check_out_offline(
    voice: Any,
    brand_bob: Any,
    operator: Any,
    auditor_ada: Any,
    time_machine: Any,
    live_server: Any,
    tmp_path: Path,
) -> None:
    registry_services.audit_grant_give(
        actor=voice.performer.user, performer=voice.performer, auditor_email="ada@example.com"
    )
    key = tmp_path / "auditor.key"
    key.write_text(
        registry_services.api_key_create(actor=auditor_ada, owner=auditor_ada.auditor, name="s")[1]
    )
    # January 2031, within Alice's consent.
    consent_runs_until(voice, datetime(2032, 1, 1, tzinfo=UTC))
    time_machine.move_to(datetime(2031, 1, 3, 9, tzinfo=UTC), tick=False)
    lic = licensed(
        voice,
        brand_bob,
        operator,
        per_work=101,
        per_second="0.333333",
        upfront_fee=0,
        minimum_guarantee=0,
        valid_until=date(2031, 6, 30),
    )
    _record(lic, ["before-1", "before-2"])
    time_machine.move_to(datetime(2031, 1, 10, 9, tzinfo=UTC), tick=False)
    _record(lic, ["window-1", "window-2", "window-3"])
    time_machine.move_to(datetime(2031, 1, 20, 9, tzinfo=UTC), tick=False)
    performer_record_death(
        operator=operator,
        performer=voice.performer,
        date_of_death=date(2031, 1, 8),
        jurisdiction="US-CA",
        evidence=SimpleUploadedFile("c.pdf", b"%PDF-1.7\n", content_type="application/pdf"),
        evidence_name="c.pdf",
        heirs=[Heir("Ann Avery", 5000), Heir("Ben Avery", 5000)],
    )
    time_machine.move_to(datetime(2031, 1, 25, 9, tzinfo=UTC), tick=False)
    _record(lic, ["after-1"])
    time_machine.move_to(datetime(2031, 2, 1, 1, tzinfo=UTC), tick=False)
    period_close(month=date(2031, 1, 1))

    statements = list(Statement.objects.select_related("payee").order_by("pk"))
    assert sorted(s.payee.name for s in statements) == ["Alice Avery", "Ann Avery", "Ben Avery"]
    for stored in statements:
        kinds = {p["kind"] for line in _payload(stored.jws)["lines"] for p in line["parts"]}
        assert kinds == {"estate_transfer"}, stored.payee
        assert (
            run_statement_check(live_server.url, stored.jws, tmp_path, "--key-file", str(key)) == 0
        )
    alice = next(s for s in statements if s.payee.kind == "performer")
    heirs = [s for s in statements if s.payee.kind == "estate"]
    # Alice's payee keeps the works from before the death; the heirs share the rest.
    assert alice.earnings > 0 and all(h.earnings > 0 for h in heirs)
