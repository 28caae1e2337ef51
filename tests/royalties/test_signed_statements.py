"""Signed statements: closed months are signed and logged, and `verifier statement`
recomputes every payee's statement from the log and the signed licenses, against the
live server, or names the line that the registry got wrong."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from licensing.keys import active_signer
from payments import gateway, reversals
from payments.models import FeePayment, Payout
from payments.payouts import payout_record_manually, payout_run
from registry import services as registry_services
from royalties.models import Account, JournalEntry, Payee, Posting, Statement, Work
from royalties.services import WorkInput, work_void, works_record
from royalties.splits import Share, voice_splits_set
from royalties.statements import period_close
from tests import factories as f
from tests.helpers import consent_runs_until
from tests.royalties.helpers import licensed, run_statement_check
from transparency.models import LogEntry
from verifier.jcs import parse_json_strict
from verifier.jws import TYP_STATEMENT, Signer, decode_jws
from verifier.note import make_verifier_key

pytestmark = pytest.mark.django_db(transaction=True)

JAN, FEB = date(2031, 1, 1), date(2031, 2, 1)


@pytest.fixture(autouse=True)
def _consent_through_2031(voice: Any) -> None:
    """These months are in 2031: Alice's consent runs until 2032."""
    consent_runs_until(voice, datetime(2032, 1, 1, tzinfo=UTC))


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2031, month, day, hour, minute, tzinfo=UTC)


def _record(lic: Any, refs: list[str], *, revenue: int = 0) -> list[Any]:
    items = [
        WorkInput(
            license_id=lic.license_id,
            client_ref=ref,
            content_sha256=hashlib.sha256(ref.encode()).hexdigest(),
            # Durations that make per-second prices fall between minor units.
            duration_ms=12_345 + 1_111 * n,
            language="en-US",
            territory="US",
            use="advertising",
            medium="tv",
            declared_revenue=revenue,
        )
        for n, ref in enumerate(refs)
    ]
    with transaction.atomic():
        outcomes = works_record(brand=lic.brand, items=items)
    assert all(o.status == "recorded" for o in outcomes), [o.detail for o in outcomes]
    return outcomes


def _void(lic: Any, outcome: Any) -> None:
    with transaction.atomic():
        work_void(brand=lic.brand, work_id=outcome.work_id)


def _payload(jws: str) -> dict[str, Any]:
    return dict(parse_json_strict(decode_jws(jws).payload_bytes))


def _split(voice: Any, shares: list[tuple[str, str, int]]) -> None:
    voice_splits_set(
        actor=voice.performer.user,
        voice=voice,
        shares=[Share(kind=k, name=n, bps=b) for k, n, b in shares],
    )


@pytest.fixture
def auditor_key(auditor_ada: Any, voice: Any, tmp_path: Path) -> str:
    """The API key, in a file as `--key-file` reads it, of an auditor Alice's side let
    read what is hers."""
    registry_services.audit_grant_give(
        actor=voice.performer.user, performer=voice.performer, auditor_email="ada@example.com"
    )
    path = tmp_path / "auditor.key"
    path.write_text(
        registry_services.api_key_create(
            actor=auditor_ada, owner=auditor_ada.auditor, name="statements"
        )[1]
        + "\n"
    )
    return str(path)


@pytest.fixture
def two_closed_months(
    voice: Any, brand_bob: Any, brand_hank: Any, operator: Any, time_machine: Any
) -> dict[str, Any]:
    """January and February 2031 under Alice's voice, both closed: three licenses (one
    with a small guarantee and an upfront fee, one whose 10,000 guarantee ends in
    January, one in euros), a split that changes mid-month, voids that move the advance
    to later works, a January work voided on 1 February, and payouts."""
    time_machine.move_to(_at(1, 5, 9), tick=False)
    _split(voice, [("performer", "Alice Avery", 7000), ("agent", "Gina Talent", 3000)])
    small = licensed(
        voice,
        brand_bob,
        operator,
        per_work=101,
        per_second="0.333333",
        revenue_share_bps=150,
        upfront_fee=25_000,
        minimum_guarantee=500,
        valid_until=date(2031, 6, 30),
    )
    ending = licensed(
        voice,
        brand_hank,
        operator,
        per_work=10,
        per_second="0.125",
        revenue_share_bps=0,
        upfront_fee=0,
        minimum_guarantee=10_000,
        valid_until=date(2031, 1, 25),
    )
    euros = licensed(
        voice,
        brand_bob,
        operator,
        currency="EUR",
        per_work=25,
        per_second="0",
        revenue_share_bps=0,
        upfront_fee=0,
        minimum_guarantee=0,
        valid_until=date(2031, 6, 30),
    )
    time_machine.move_to(_at(1, 10, 10), tick=False)
    first = _record(small, [f"s{n}" for n in range(7)])
    hank = _record(ending, [f"h{n}" for n in range(3)])
    time_machine.move_to(_at(1, 10, 11), tick=False)
    _void(small, first[1])  # it drew 105 of the advance: later works take it over
    _void(ending, hank[0])
    time_machine.move_to(_at(1, 20, 10), tick=False)
    _split(
        voice,
        [
            ("performer", "Alice Avery", 6000),
            ("agent", "Gina Talent", 3000),
            ("agent", "Marlow Management", 1000),
        ],
    )
    _record(small, [f"r{n}" for n in range(4)], revenue=10_000)
    _record(euros, ["e0", "e1"])
    time_machine.move_to(_at(1, 31, 23), tick=False)
    late = _record(small, ["late0", "late1"])
    time_machine.move_to(_at(2, 1, 0, 30), tick=False)
    _void(small, late[0])  # a January work, voided in February before January closed
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    time_machine.move_to(_at(2, 10, 10), tick=False)
    _record(small, [f"f{n}" for n in range(3)])
    payout_run(month=JAN)
    for payout in Payout.objects.filter(month=JAN):
        payout_record_manually(operator=operator, payout=payout, reference=f"SEPA-{payout.pk}")
    time_machine.move_to(_at(3, 2, 10), tick=False)
    period_close(month=FEB)
    return {"small": small, "ending": ending, "euros": euros}


def test_every_payees_statement_agrees_with_the_log_and_the_signed_terms(
    two_closed_months: dict[str, Any], live_server: Any, auditor_key: str, tmp_path: Path
) -> None:
    statements = list(Statement.objects.select_related("period", "payee").order_by("pk"))
    # Three payees in dollars and in euros, in each month.
    assert len(statements) == 12
    # What the scenario is meant to cover is in the statements being checked.
    january = [_payload(s.jws) for s in statements if s.period.month == JAN]
    kinds = {p["kind"] for s in january for line in s["lines"] for p in line["parts"]}
    assert {"upfront_fee", "true_up"} <= kinds
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ADVANCE_REAPPLIED).exists()
    assert any(_payload(s.jws)["payouts"] != "0" for s in statements)
    void_in_feb = Work.objects.get(client_ref="late0")
    assert void_in_feb.recorded_at.month == 1 and void_in_feb.voided_at.month == 2

    for stored in statements:
        assert stored.jws and stored.log_index is not None
        assert (
            run_statement_check(live_server.url, stored.jws, tmp_path, "--key-file", auditor_key)
            == 0
        ), stored
    # February's statements, with January's at hand: the opening is January's closing.
    for stored in statements:
        if stored.period.month != FEB:
            continue
        before = Statement.objects.get(
            payee=stored.payee, currency=stored.currency, period__month=JAN
        )
        previous = tmp_path / f"previous-{before.pk}.jws"
        previous.write_text(before.jws)
        assert stored.opening == before.closing
        args = ("--key-file", auditor_key, "--previous", str(previous))
        assert run_statement_check(live_server.url, stored.jws, tmp_path, *args) == 0
    # Someone else's January is not this payee's previous statement.
    alice, gina = (
        Statement.objects.get(payee__name=name, currency="USD", period__month=month)
        for name, month in (("Alice Avery", FEB), ("Gina Talent", JAN))
    )
    wrong = tmp_path / "wrong.jws"
    wrong.write_text(gina.jws)
    args = ("--key-file", auditor_key, "--previous", str(wrong))
    assert run_statement_check(live_server.url, alice.jws, tmp_path, *args) == 1


def test_a_statement_booked_wrong_behind_the_apps_back_is_caught_at_its_line(
    voice: Any,
    brand_bob: Any,
    operator: Any,
    time_machine: Any,
    live_server: Any,
    auditor_key: str,
    tmp_path: Path,
    capsys: Any,
) -> None:
    time_machine.move_to(_at(1, 5, 9), tick=False)
    _split(voice, [("performer", "Alice Avery", 7000), ("agent", "Gina Talent", 3000)])
    lic = licensed(
        voice,
        brand_bob,
        operator,
        per_work=101,
        per_second="0.5",
        minimum_guarantee=0,
        upfront_fee=0,
        valid_until=date(2031, 6, 30),
    )
    time_machine.move_to(_at(1, 10, 10), tick=False)
    outcomes = _record(lic, ["a", "b", "c"])
    # Someone with database access books work "b" 100 dearer than it was logged (and
    # signed in its receipt): the brand is billed 100 more, and Alice credited all of it.
    work = Work.objects.get(work_id=outcomes[1].work_id)
    Work.objects.filter(pk=work.pk).update(price=work.price + 100)
    legs = Posting.objects.filter(entry=work.entry)
    receivable = legs.get(account__kind=Account.Kind.BRAND_RECEIVABLE)
    alice = legs.get(account__payee__kind=Payee.Kind.PERFORMER)
    with _append_only_lifted():  # as someone with the database's owner password would
        Posting.objects.filter(pk=receivable.pk).update(amount=receivable.amount + 100)
        Posting.objects.filter(pk=alice.pk).update(
            amount=alice.amount - 100, gross=alice.gross + 100
        )
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    stored = Statement.objects.get(payee=alice.account.payee)
    capsys.readouterr()
    assert (
        run_statement_check(live_server.url, stored.jws, tmp_path, "--key-file", auditor_key) == 1
    )
    err = capsys.readouterr().err
    assert f"line {lic.license_id}: gross is" in err
    line = _payload(stored.jws)["lines"][0]
    assert f"gross is {line['gross']} in the statement" in err
    assert f"give {int(line['gross']) - 100}" in err
    # Gina's statement was not touched: it still agrees.
    gina = Statement.objects.exclude(payee=alice.account.payee).get()
    assert run_statement_check(live_server.url, gina.jws, tmp_path, "--key-file", auditor_key) == 0


@pytest.fixture
def one_closed_month(
    voice: Any, brand_bob: Any, operator: Any, time_machine: Any
) -> dict[str, Any]:
    """January 2031 closed: three works under Bob's license on Alice's voice."""
    time_machine.move_to(_at(1, 5, 9), tick=False)
    lic = licensed(
        voice,
        brand_bob,
        operator,
        per_work=101,
        per_second="0.5",
        minimum_guarantee=200,
        upfront_fee=1_000,
        valid_until=date(2031, 6, 30),
    )
    time_machine.move_to(_at(1, 10, 10), tick=False)
    _record(lic, ["a", "b", "c"])
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    return {"license": lic, "statement": Statement.objects.get()}


def _resigned(jws: str, **changes: Any) -> str:
    """The statement's payload changed and signed again with the registry's own key: what
    the registry could sign without logging it, or for another log."""
    payload = _payload(jws)
    payload.update(changes)
    key, private = active_signer()
    return Signer(private, key.kid, TYP_STATEMENT).sign(payload)


def test_a_tampered_statement_is_refused(
    one_closed_month: dict[str, Any],
    live_server: Any,
    auditor_key: str,
    tmp_path: Path,
    capsys: Any,
) -> None:
    jws = one_closed_month["statement"].jws
    head, payload, signature = jws.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    more = raw.replace(b'"closing":"', b'"closing":"1')
    tampered = ".".join([head, base64.urlsafe_b64encode(more).rstrip(b"=").decode(), signature])
    assert run_statement_check(live_server.url, tampered, tmp_path, "--key-file", auditor_key) == 1
    assert "jws.bad_signature" in capsys.readouterr().err


def test_a_statement_of_another_log_or_never_logged_is_refused(
    one_closed_month: dict[str, Any],
    live_server: Any,
    auditor_key: str,
    tmp_path: Path,
    capsys: Any,
) -> None:
    jws = one_closed_month["statement"].jws
    tree = _payload(jws)["log"]
    elsewhere = _resigned(
        jws,
        log={
            "tree_size": tree["tree_size"],
            "root_hash": base64.b64encode(hashlib.sha256(b"a test log").digest()).decode(),
        },
    )
    check = ("--key-file", auditor_key)
    assert run_statement_check(live_server.url, elsewhere, tmp_path, *check) == 1
    assert "statement.other_log" in capsys.readouterr().err
    ahead = _resigned(jws, log={**tree, "tree_size": "1000"})
    assert run_statement_check(live_server.url, ahead, tmp_path, *check) == 1
    assert "statement.other_log" in capsys.readouterr().err
    # Signed by the registry, with this log's tree, but its hash was never logged.
    unlogged = _resigned(jws, issued_at="2031-02-01T01:00:00.001Z")
    assert run_statement_check(live_server.url, unlogged, tmp_path, *check) == 1
    assert "statement.not_logged" in capsys.readouterr().err
    # The log's checkpoints checked with another log's key.
    other = make_verifier_key("127.0.0.1/log", Ed25519PrivateKey.generate().public_key())
    assert run_statement_check(live_server.url, jws, tmp_path, *check, "--verifier-key", other) == 1


def test_bad_inputs_get_the_exit_status_the_other_commands_give(
    one_closed_month: dict[str, Any],
    live_server: Any,
    auditor_key: str,
    tmp_path: Path,
    capsys: Any,
) -> None:
    jws = one_closed_month["statement"].jws
    url = live_server.url
    check = ("--key-file", auditor_key)
    # Could not be run (2): no way to read the licenses, an unreadable key file, a
    # server that is not there, a log key that is no key, a previous statement missing.
    assert run_statement_check(url, jws, tmp_path) == 2
    assert "--key-file" in capsys.readouterr().err
    assert run_statement_check(url, jws, tmp_path, "--key-file", str(tmp_path / "nope")) == 2
    junk = tmp_path / "junk.key"
    junk.write_text("tk_one\ntk_two\n")
    assert run_statement_check(url, jws, tmp_path, "--key-file", str(junk)) == 2
    assert run_statement_check("http://127.0.0.1:9", jws, tmp_path, *check) == 2
    assert run_statement_check("file:///etc/passwd", jws, tmp_path, *check) == 2
    assert run_statement_check(url, jws, tmp_path, *check, "--verifier-key", "not a key") == 2
    capsys.readouterr()
    # Failed (1): not a JWS; a license's JWS passed off as a statement.
    assert run_statement_check(url, "hello", tmp_path, *check) == 1
    assert "jws.malformed" in capsys.readouterr().err
    license_jws = one_closed_month["license"].jws
    assert run_statement_check(url, license_jws, tmp_path, *check) == 1
    assert "jws.wrong_typ" in capsys.readouterr().err
    # A previous statement for the payee's first one.
    previous = tmp_path / "previous.jws"
    previous.write_text(jws)
    assert run_statement_check(url, jws, tmp_path, *check, "--previous", str(previous)) == 1
    assert "statement.previous" in capsys.readouterr().err


def test_a_month_turn_crossed_out_of_order_and_a_guarantee_never_used(
    voice: Any,
    brand_bob: Any,
    brand_hank: Any,
    operator: Any,
    time_machine: Any,
    live_server: Any,
    auditor_key: str,
    tmp_path: Path,
) -> None:
    """Two requests cross midnight: the one booked on 1 February is logged before the
    one booked on 31 January. Both months still count every work once. And a license
    whose brand never recorded a work still pays its guarantee when its term ends."""
    time_machine.move_to(_at(1, 5, 9), tick=False)
    lic = licensed(
        voice,
        brand_bob,
        operator,
        per_work=100,
        per_second="0",
        minimum_guarantee=0,
        upfront_fee=0,
        valid_until=date(2031, 6, 30),
    )
    unused = licensed(
        voice,
        brand_hank,
        operator,
        per_work=100,
        per_second="0",
        minimum_guarantee=3_000,
        upfront_fee=0,
        valid_until=date(2031, 1, 31),
    )
    time_machine.move_to(_at(2, 1, 0, 5), tick=False)
    items = [
        WorkInput(
            license_id=lic.license_id,
            client_ref=ref,
            content_sha256=hashlib.sha256(ref.encode()).hexdigest(),
            duration_ms=1_000,
            language="en-US",
            territory="US",
            use="advertising",
            medium="tv",
        )
        for ref in ("feb", "jan")
    ]
    with transaction.atomic():
        works_record(brand=lic.brand, items=[items[0]], now=_at(2, 1, 0, 0))
    with transaction.atomic():
        works_record(brand=lic.brand, items=[items[1]], now=_at(1, 31, 23, 59))
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    time_machine.move_to(_at(3, 1, 1), tick=False)
    period_close(month=FEB)
    logged = LogEntry.objects.count()
    period_close(month=FEB)  # safe to run twice: nothing more is signed or logged
    assert LogEntry.objects.count() == logged
    feb_work, jan_work = (Work.objects.get(client_ref=r) for r in ("feb", "jan"))
    january, february = (Statement.objects.get(period__month=m, currency="USD") for m in (JAN, FEB))
    assert _payload(january.jws)["counted"]["excluded"] == [str(feb_work.log_index)]
    assert _payload(february.jws)["counted"]["included"] == [str(feb_work.log_index)]
    assert jan_work.log_index > feb_work.log_index
    lines = {line["license_id"]: line for line in _payload(january.jws)["lines"]}
    assert lines[unused.license_id]["gross"] == "3000"
    assert [p["kind"] for p in lines[unused.license_id]["parts"]] == ["true_up"]
    for stored in (january, february):
        assert (
            run_statement_check(live_server.url, stored.jws, tmp_path, "--key-file", auditor_key)
            == 0
        )


def test_the_payee_downloads_the_signed_statement_beside_the_pdf_and_csv(
    one_closed_month: dict[str, Any], client: Client, performer_dave: Any
) -> None:
    stored = one_closed_month["statement"]
    base = f"/statements/{stored.payee.pk}/2031-01/USD"
    client.force_login(one_closed_month["license"].voice.performer.user)
    page = client.get(base + "/").content.decode()
    assert 'id="signed-statement"' in page and f'href="{base}.jws"' in page
    download = client.get(base + ".jws")
    assert download.status_code == 200 and download["Content-Type"] == "application/jose"
    assert download.content.decode() == stored.jws
    assert client.get(f"/statements/{stored.payee.pk}/2031-02/USD.jws").status_code == 404
    assert client.get(f"/statements/{stored.payee.pk}/nope/USD.jws").status_code == 404
    client.force_login(performer_dave.user)
    assert client.get(base + ".jws").status_code == 404


def test_a_granted_auditor_reads_the_signed_statement_and_nobody_else(
    one_closed_month: dict[str, Any],
    auditor_key: str,
    auditor_ada: Any,
    client: Client,
    bob_key: str,
    performer_dave: Any,
) -> None:
    stored = one_closed_month["statement"]
    url = f"/api/v1/statements/{stored.payee.pk}/2031-01/USD.jws"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {Path(auditor_key).read_text().strip()}")
    answer = api.get(url)
    assert answer.status_code == 200 and answer.content.decode() == stored.jws
    assert api.get(url.replace("2031-01", "2031-02")).status_code == 404
    assert api.get(url.replace("2031-01", "9999-12")).status_code == 404
    # Signed in, the auditor opens the statement's page and its downloads too.
    client.force_login(auditor_ada)
    page = f"/statements/{stored.payee.pk}/2031-01/USD"
    assert client.get(page + "/").status_code == 200
    assert client.get(page + ".jws").content.decode() == stored.jws
    # The brand's key, an ungranted auditor, another performer: nothing.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {bob_key}")
    assert api.get(url).status_code == 404
    stranger = f.AuditorFactory(user__email="eve@example.com")
    eve = registry_services.api_key_create(actor=stranger.user, owner=stranger, name="eve")[1]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {eve}")
    assert api.get(url).status_code == 404
    client.force_login(performer_dave.user)
    assert client.get(page + ".jws").status_code == 404
    # The grant ends: so does the access.
    grant = auditor_ada.auditor.grants.get()
    registry_services.audit_grant_revoke(actor=grant.performer.user, grant=grant)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {Path(auditor_key).read_text().strip()}")
    assert api.get(url).status_code == 404


def test_who_may_read_a_licenses_signed_document(
    one_closed_month: dict[str, Any],
    auditor_key: str,
    brand_bob: Any,
    brand_hank: Any,
    bob_key: str,
) -> None:
    lic = one_closed_month["license"]
    url = f"/api/v1/licenses/{lic.license_id}/jws"
    api = APIClient()
    assert api.get(url).status_code in (401, 403)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {Path(auditor_key).read_text().strip()}")
    answer = api.get(url, HTTP_ACCEPT="application/jose, */*;q=0.1")
    assert answer.status_code == 200 and answer.content.decode() == lic.jws
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {bob_key}")
    assert api.get(url).status_code == 200
    # An auditor Alice's side never let in reads nothing of hers.
    stranger = f.AuditorFactory(user__email="eve@example.com")
    eve = registry_services.api_key_create(actor=stranger.user, owner=stranger, name="eve")[1]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {eve}")
    assert api.get(url).status_code == 404
    hank = registry_services.api_key_create(
        actor=brand_hank, owner=brand_hank.brand_memberships.get().brand, name="hank"
    )[1]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {hank}")
    assert api.get(url).status_code == 404
    api.credentials()
    api.force_authenticate(lic.voice.performer.user)
    assert api.get(url).status_code == 200


def test_a_refunded_fee_is_the_registrys_word_and_the_works_are_still_recomputed(
    voice: Any,
    brand_bob: Any,
    operator: Any,
    time_machine: Any,
    live_server: Any,
    auditor_key: str,
    tmp_path: Path,
    capsys: Any,
) -> None:
    time_machine.move_to(_at(1, 5, 9), tick=False)
    lic = licensed(
        voice,
        brand_bob,
        operator,
        per_work=101,
        per_second="0",
        minimum_guarantee=500,
        upfront_fee=1_000,
        valid_until=date(2031, 1, 31),
    )
    FeePayment.objects.filter(license=lic).update(charge_id="ch_refunded")
    time_machine.move_to(_at(1, 10, 10), tick=False)
    _record(lic, ["a", "b", "c"])
    # The brand gets 1,200 back: the whole fee, and 200 of the guarantee's unspent 197
    # plus 3 the works used (charged to the brand).
    refund = [{"id": "re_1", "amount": 1_200, "status": "succeeded"}]
    with transaction.atomic(), mock.patch.object(gateway, "refunds_of_charge", lambda _: refund):
        reversals.charge_refunded({"id": "ch_refunded"}, {})
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    stored = Statement.objects.get()
    kinds = [p["kind"] for line in _payload(stored.jws)["lines"] for p in line["parts"]]
    assert "fee_refund" in kinds
    capsys.readouterr()
    check = ("--key-file", auditor_key)
    assert run_statement_check(live_server.url, stored.jws, tmp_path, *check) == 0
    out = capsys.readouterr().out
    assert "fee_refund" in out and "registry's word" in out


@contextlib.contextmanager
def _append_only_lifted() -> Iterator[None]:
    """On PostgreSQL the ledger refuses UPDATE by trigger: lift it for the edit."""
    from django.db import connection

    trigger = "royalties_posting_append_only"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE royalties_posting DISABLE TRIGGER {trigger}")
        try:
            yield
        finally:
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE royalties_posting ENABLE TRIGGER {trigger}")
