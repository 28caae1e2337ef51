"""Consent withdrawn, a voice suspended, a license held: each is a log entry, and the
offline verifier given the registry's URL and the log's key reports each state from them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from core.months import month_start, next_month
from licensing import services as licensing
from licensing.keys import key_register, key_set_status
from licensing.models import SigningKey
from registry import services as registry
from royalties.statements import period_close
from tests import factories as f
from tests.royalties.helpers import issue
from transparency import keys as log_keys
from transparency.models import LogEntry
from verifier.cli import main

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_voice(performer_alice: Any) -> Any:
    """A voice that went live through consent, so it is in the log."""
    voice = f.VoiceFactory(performer=performer_alice, display_name="Alice Live", status="draft")
    registry.consent_give(
        actor=performer_alice.user,
        voice=voice,
        statement_version=registry.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="",
    )
    return registry.voice_set_status(actor=performer_alice.user, voice=voice, status="active")


def _events(*kinds: str) -> list[dict[str, Any]]:
    return [
        json.loads(bytes(data))
        for data in LogEntry.objects.filter(event_type__in=kinds)
        .order_by("index")
        .values_list("data", flat=True)
    ]


def _check(
    live_server: Any, lic: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any], str]:
    (tmp_path / "license.jws").write_text(lic.jws + "\n")
    capsys.readouterr()
    status = main(
        [
            "license",
            str(tmp_path / "license.jws"),
            "--jwks",
            f"{live_server.url}/.well-known/jwks.json",
            "--url",
            live_server.url,
            "--verifier-key",
            log_keys.verifier_key(),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    return status, json.loads(out)["checks"]["revocation"], err


def test_hold_suspension_and_withdrawn_consent_are_logged_and_read_offline(
    live_server: Any,
    live_voice: Any,
    brand_bob: Any,
    operator: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lic = issue(live_voice, brand_bob, operator)
    alice = live_voice.performer.user
    status, check, err = _check(live_server, lic, tmp_path, capsys)
    assert status == 0, err
    assert check["outcome"] == "ok" and check["standing"] == "active"

    # A hold for an overdue invoice: logged with its reason's class, not its reference.
    licensing.license_hold(license=lic, reason="invoice_overdue", ref="in_private_77")
    [held] = _events("license.held")
    assert held["license_id"] == lic.license_id and held["reason"] == "invoice_overdue"
    assert "in_private_77" not in json.dumps(held)
    status, check, err = _check(live_server, lic, tmp_path, capsys)
    assert status == 1 and "invalid: suspended: the log shows: held" in err
    assert check["event"]["event"]["type"] == "license.held"
    assert check["event"]["proof"]["index"] == check["event"]["index"]
    licensing.license_release(license=lic, reason="invoice_overdue", ref="in_private_77")
    assert _events("license.released")[0]["hold_id"] == held["hold_id"]
    assert _check(live_server, lic, tmp_path, capsys)[0] == 0

    # The performer suspends the voice, then brings it back.
    registry.voice_set_status(actor=alice, voice=live_voice, status="suspended", reason="a break")
    [suspended] = _events("voice.suspended")
    assert suspended == {**suspended, "voice_id": str(live_voice.pk), "cause": "performer"}
    assert "a break" not in json.dumps(suspended)
    status, check, err = _check(live_server, lic, tmp_path, capsys)
    assert status == 1 and "its voice was suspended (performer)" in err
    registry.voice_set_status(actor=alice, voice=live_voice, status="active")
    assert _events("voice.reinstated")[0]["voice_id"] == str(live_voice.pk)
    assert _check(live_server, lic, tmp_path, capsys)[0] == 0

    # Consent withdrawn: logged, the voice suspended, every live license revoked.
    registry.consent_withdraw(actor=alice, voice=live_voice, reason="changed my mind")
    assert _events("consent.withdrawn") == [
        {**_events("consent.withdrawn")[0], "voice_id": str(live_voice.pk)}
    ]
    assert _events("voice.suspended")[-1]["cause"] == "consent_withdrawn"
    status, check, err = _check(live_server, lic, tmp_path, capsys)
    assert status == 1 and "invalid: revoked: the log shows: revoked" in err
    assert check["event"]["event"]["reason"] == "consent_withdrawn"


def test_log_audit_and_the_monitor_pass_over_every_event_type(
    time_machine: Any,
    live_server: Any,
    live_voice: Any,
    brand_bob: Any,
    operator: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from django.core.management import call_command

    from royalties.services import work_void
    from tests.credentials.helpers import record
    from tests.helpers import identity_verified, wav_bytes
    from verifier.events import EVENTS

    state = tmp_path / "monitor.json"
    key = log_keys.verifier_key()
    assert (
        main(["monitor", "--url", live_server.url, "--state", str(state), "--verifier-key", key])
        == 0
    )
    lic = issue(live_voice, brand_bob, operator)
    work = record(lic, wav_bytes())
    work_void(brand=lic.brand, work_id=work.work_id)
    licensing.license_hold(license=lic, reason="disputed", ref="dp_1")
    licensing.license_release(license=lic, reason="disputed", ref="dp_1")
    alice = live_voice.performer.user
    registry.voice_set_status(actor=alice, voice=live_voice, status="suspended")
    registry.voice_set_status(actor=alice, voice=live_voice, status="active")
    registry.consent_withdraw(actor=alice, voice=live_voice, reason="")
    # Consent given again for a year (logged as a renewal); Alice delegates a power to her
    # agent and takes it back.
    registry.consent_give(
        actor=alice,
        voice=live_voice,
        statement_version=registry.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="",
        term_years=1,
    )
    gina = f.AuthorityFactory(performer=live_voice.performer, kind="agent", status="active")
    delegation = registry.delegation_grant(
        actor=alice,
        performer=live_voice.performer,
        representative=gina.representative,
        powers=["approve_requests"],
        ends_on=timezone.now().date() + timedelta(days=30),
    )
    registry.delegation_revoke(actor=alice, delegation=delegation)
    # The performer dies: an operator records it, with evidence.
    from django.core.files.uploadedfile import SimpleUploadedFile

    from royalties.estates import Heir, performer_record_death

    death = performer_record_death(
        operator=operator,
        performer=live_voice.performer,
        date_of_death=timezone.now().date(),
        jurisdiction="US-TN",
        evidence=SimpleUploadedFile("c.pdf", b"%PDF-1.7\n", content_type="application/pdf"),
        evidence_name="c.pdf",
        heirs=[Heir("Estate", 10_000)],
    )
    # Tennessee's term, continued by a use late in it.
    from registry.deaths import term_continue

    assert term_continue(
        death=death,
        last_use=death.post_mortem_until - timedelta(days=30),
        today=death.post_mortem_until,
    )
    # A brand claims a legal name and domain; an operator confirms it.
    from registry import brand_domains

    hank = f.MembershipFactory(brand__verified=False, role="owner").user
    claim = brand_domains.brand_verification_start(
        actor=hank,
        brand=hank.brand_memberships.get().brand,
        legal_name="Hank Holdings",
        domain="hank.example",
    )
    brand_domains.brand_verification_confirm(operator=operator, verification=claim)
    # The month ends and closes: each payee's statement is signed and logged.
    month = month_start(timezone.now().date())
    time_machine.move_to(datetime.combine(next_month(month), time(1), tzinfo=UTC), tick=False)
    period_close(month=month)
    # A new signing key retires the old one, which is then found compromised.
    old = SigningKey.objects.get(status="active")
    key_register(public_key=Ed25519PrivateKey.generate().public_key())
    key_set_status(key=old, status="compromised", compromised_from_index=old.added_log_index)
    # A year on, the renewed consent ends unrenewed; then the voice is retired (by the
    # rule that retires a late performer's voices at the end of the post-mortem term).
    time_machine.move_to(timezone.now() + timedelta(days=370), tick=False)
    assert registry.consents_expire() == 1
    assert registry.voice_retire_for_cause(
        voice_id=live_voice.pk, cause="post_mortem_term_ended", reason="the term ended"
    )
    # An operator verifies a new performer's identity.
    identity_verified(f.PerformerFactory(unverified=True), operator)
    seen = set(LogEntry.objects.values_list("event_type", flat=True))
    assert seen == EVENTS, f"not exercised here: {EVENTS - seen}"
    call_command("log_audit")
    capsys.readouterr()
    assert main(["monitor", "--url", live_server.url, "--state", str(state)]) == 0
    assert "events checked" in capsys.readouterr().out


def test_the_end_of_consent_is_read_from_the_logged_term_before_the_registry_says_so(
    live_server: Any,
    performer_alice: Any,
    brand_bob: Any,
    operator: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    time_machine: Any,
) -> None:
    """The log states each consent's term, so a verifier judges its end by itself; the
    registry's own record of the end, and the renewal, then read as such."""
    alice = performer_alice.user
    voice = f.VoiceFactory(performer=performer_alice, display_name="Alice Year", status="draft")
    consent = registry.consent_give(
        actor=alice,
        voice=voice,
        statement_version=registry.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="",
        term_years=1,
    )
    voice = registry.voice_set_status(actor=alice, voice=voice, status="active")
    lic = issue(voice, brand_bob, operator, valid_until=timezone.now().date() + timedelta(days=720))
    assert _check(live_server, lic, tmp_path, capsys)[0] == 0

    time_machine.move_to(consent.expires_at + timedelta(hours=1), tick=False)
    status, check, err = _check(live_server, lic, tmp_path, capsys)
    assert status == 1, err
    assert "its voice's consent ended at" in err and "the log shows no renewal" in err
    assert check["event"]["event"]["type"] == "voice.registered"

    registry.consents_expire()
    status, check, err = _check(live_server, lic, tmp_path, capsys)
    assert status == 1 and "its voice was suspended (consent_expired)" in err

    registry.consent_give(
        actor=alice,
        voice=voice,
        statement_version=registry.CONSENT_STATEMENT_VERSION,
        ip_address=None,
        user_agent="",
        term_years=2,
    )
    status, check, err = _check(live_server, lic, tmp_path, capsys)
    assert status == 0, err
