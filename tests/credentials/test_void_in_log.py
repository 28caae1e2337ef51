"""A voided work's stamped file reads "voided" everywhere: the API, /verify/, the lookup by
hash, and the offline verifier given the log, with the void's entry and its proof."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from credentials import identity
from licensing import services as licensing
from licensing.keys import jwks
from royalties.models import LicenseUsage
from royalties.services import work_void
from tests.credentials.helpers import record
from transparency import keys as log_keys
from transparency.models import LogEntry
from verifier.cli import main
from verifier.merkle import leaf_hash
from verifier.proofs import InclusionProof

pytestmark = pytest.mark.django_db(transaction=True)


def _stamp(client: Client, key: str, work_id: str, data: bytes) -> bytes:
    response = client.post(
        f"/api/v1/works/{work_id}/stamp",
        data=data,
        content_type="audio/wav",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200, response.content[:300]
    return response.content


def _offline(
    live_server: Any, tmp_path: Path, stamped: bytes, capsys: Any, *extra: str
) -> tuple[int, Any, str]:
    (tmp_path / "root.pem").write_text(identity.current().root_pem)
    (tmp_path / "stamped.wav").write_bytes(stamped)
    capsys.readouterr()
    status = main(
        [
            "audio",
            "--root",
            str(tmp_path / "root.pem"),
            "--url",
            live_server.url,
            "--verifier-key",
            log_keys.verifier_key(),
            *extra,
            str(tmp_path / "stamped.wav"),
        ]
    )
    out, err = capsys.readouterr()
    return status, out, err


def test_a_voided_stamped_work_reads_voided_everywhere_with_the_logged_void(
    client: Client,
    live_server: Any,
    license_: Any,
    bob_key: str,
    wav: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = record(license_, wav)
    stamped = _stamp(client, bob_key, work.work_id, wav)
    # Before the void, the offline verifier given the log says licensed.
    status, out, err = _offline(live_server, tmp_path, stamped, capsys)
    assert status == 0, err
    assert "standing: licensed" in out

    voided = work_void(brand=license_.brand, work_id=work.work_id)

    # The log holds the void, naming the work and its receipt's hash.
    entry = LogEntry.objects.get(index=voided.void_log_index)
    event = json.loads(bytes(entry.data))
    assert event["type"] == "work.voided"
    assert event["work_id"] == work.work_id
    assert event["receipt_sha256"] == hashlib.sha256(work.receipt.encode()).hexdigest()
    assert event["recorded_index"] == str(work.log_index)
    assert event["slot_returned"] is False  # it was stamped: its cap slot stays used
    assert LicenseUsage.objects.get(license=license_).works == 1

    # The API, the page and the lookup by hash all say voided.
    verdict = client.post("/api/v1/verify/audio", data=stamped, content_type="audio/wav").json()
    assert verdict["verdict"] == "voided"
    assert verdict["work"]["void_log_index"] == voided.void_log_index
    page = client.post("/verify/", {"audio": _upload(stamped)})
    assert "Voided: the brand withdrew" in page.content.decode()
    for digest in (hashlib.sha256(stamped).hexdigest(), work.content_sha256):
        [match] = client.get(f"/api/v1/works/by-hash/{digest}").json()["matches"]
        assert match["work_id"] == work.work_id and match["voided"] is True

    # Offline, from the log: voided, with the void's entry proven in a signed checkpoint.
    status, out, err = _offline(live_server, tmp_path, stamped, capsys, "--json")
    assert status == 1
    assert "invalid: audio.voided: voided at " in err
    standing = json.loads(out)["standing"]
    assert standing["status"] == "voided"
    [void] = [e for e in standing["events"] if e["event"]["type"] == "work.voided"]
    assert void["index"] == voided.void_log_index
    proof = InclusionProof.from_json(void["proof"])
    assert proof.leaf_hash == leaf_hash(bytes(entry.data))
    # The proof holds against the checkpoint the server signs for that size.
    note = client.get("/api/v1/log/checkpoint").content.decode()
    root = _root_of(note, proof.tree_size)
    proof.verify(root)


def test_a_held_then_revoked_license_reads_so_offline(
    client: Client,
    live_server: Any,
    license_: Any,
    bob_key: str,
    wav: bytes,
    operator: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = record(license_, wav)
    stamped = _stamp(client, bob_key, work.work_id, wav)
    licensing.license_hold(license=license_, reason="invoice_overdue", ref="inv_secret_42")
    status, out, err = _offline(live_server, tmp_path, stamped, capsys)
    assert status == 1 and "invalid: audio.suspended: held (invoice_overdue)" in err
    assert "inv_secret_42" not in out + err  # the cause's own reference stays private
    licensing.license_release(license=license_, reason="invoice_overdue", ref="inv_secret_42")
    status, out, err = _offline(live_server, tmp_path, stamped, capsys)
    assert status == 0, err
    licensing.license_revoke(actor=operator, license=license_, reason="operator")
    status, out, err = _offline(live_server, tmp_path, stamped, capsys)
    assert status == 1 and "invalid: audio.revoked: revoked (operator)" in err


def test_an_unstamped_voided_work_gives_its_cap_slot_back(license_: Any, wav: bytes) -> None:
    work = record(license_, wav)
    voided = work_void(brand=license_.brand, work_id=work.work_id)
    event = json.loads(bytes(LogEntry.objects.get(index=voided.void_log_index).data))
    assert event["slot_returned"] is True
    assert LicenseUsage.objects.get(license=license_).works == 0


def test_audio_with_url_needs_the_logs_key(tmp_path: Path, live_server: Any) -> None:
    (tmp_path / "root.pem").write_text(identity.current().root_pem)
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    argv = ["audio", "--root", str(tmp_path / "root.pem"), "--url", live_server.url]
    assert main([*argv, str(tmp_path / "a.wav")]) == 2


def _upload(data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("clip.wav", data, content_type="audio/wav")


def _root_of(note: str, size: int) -> bytes:
    import base64

    lines = note.splitlines()
    assert int(lines[1]) == size, "the checkpoint is of the size the proof is for"
    return base64.b64decode(lines[2])


def test_a_voided_works_receipt_reads_voided_offline(
    live_server: Any, license_: Any, wav: bytes, tmp_path: Path, capsys: Any
) -> None:
    work = record(license_, wav)
    (tmp_path / "receipt.jws").write_text(work.receipt + "\n")
    argv = [
        "receipt",
        str(tmp_path / "receipt.jws"),
        "--jwks",
        f"{live_server.url}/.well-known/jwks.json",
        "--url",
        live_server.url,
        "--verifier-key",
        log_keys.verifier_key(),
    ]
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    assert "standing: active" in capsys.readouterr().out
    voided = work_void(brand=license_.brand, work_id=work.work_id)
    assert main([*argv, "--json"]) == 1
    out, err = capsys.readouterr()
    assert "invalid: receipt.voided: voided at " in err
    standing = json.loads(out)["standing"]
    assert standing["status"] == "voided"
    assert voided.void_log_index in [e["index"] for e in standing["events"]]
    # A receipt altered by one character is refused before the log is asked.
    (tmp_path / "receipt.jws").write_text(
        work.receipt[:-2] + ("A" if work.receipt[-2] != "A" else "B") + work.receipt[-1]
    )
    assert main(argv) == 1
    assert "invalid: jws." in capsys.readouterr().err


def test_a_void_while_the_audio_is_signed_wins_and_no_stamp_leaves(
    license_: Any, wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.exceptions import ValidationError

    from credentials import stamping
    from royalties.models import WorkStamp

    work = record(license_, wav)
    sign = stamping._sign

    def void_meanwhile(*args: Any) -> bytes:
        signed = sign(*args)
        work_void(brand=license_.brand, work_id=work.work_id)  # another request, committed
        return signed

    monkeypatch.setattr(stamping, "_sign", void_meanwhile)
    with pytest.raises(ValidationError, match="voided"):
        stamping.stamp(actor=None, brand=license_.brand, work_id=work.work_id, data=wav)
    assert not WorkStamp.objects.exists()
    # The void gave the slot back, and rightly: no stamped copy exists.
    voided = json.loads(bytes(LogEntry.objects.filter(event_type="work.voided").get().data))
    assert voided["slot_returned"] is True


def test_an_older_tree_head_from_before_the_void_is_caught_with_a_monitors_state(
    client: Client,
    live_server: Any,
    license_: Any,
    bob_key: str,
    wav: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from verifier.checkpoint import open_checkpoint
    from verifier.monitor import LogClient, SignedCheckpoint
    from verifier.note import parse_verifier_key

    work = record(license_, wav)
    stamped = _stamp(client, bob_key, work.work_id, wav)
    stale_note = client.get("/api/v1/log/checkpoint").content
    work_void(brand=license_.brand, work_id=work.work_id)
    state = tmp_path / "monitor.json"
    key = log_keys.verifier_key()
    assert (
        main(["monitor", "--url", live_server.url, "--state", str(state), "--verifier-key", key])
        == 0
    )

    # A registry that shows the tree as it was before the void.
    verifier = parse_verifier_key(key)
    stale = SignedCheckpoint(
        open_checkpoint(stale_note, [verifier], verifier.name), stale_note.decode()
    )
    monkeypatch.setattr(LogClient, "checkpoint", lambda self, trusted: stale)
    status, out, err = _offline(live_server, tmp_path, stamped, capsys)
    assert status == 0 and "standing: licensed" in out, "without a state it cannot tell"
    assert "note: without --state" in err
    (tmp_path / "root.pem").write_text(identity.current().root_pem)
    capsys.readouterr()
    argv = ["audio", "--root", str(tmp_path / "root.pem"), "--url", live_server.url]
    assert main([*argv, "--state", str(state), str(tmp_path / "stamped.wav")]) == 1
    assert "invalid: log.rollback:" in capsys.readouterr().err


def test_a_downloaded_copy_of_the_log_judges_with_no_server(
    client: Client,
    live_server: Any,
    license_: Any,
    bob_key: str,
    wav: bytes,
    operator: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = record(license_, wav)
    stamped = _stamp(client, bob_key, work.work_id, wav)
    work_void(brand=license_.brand, work_id=work.work_id)
    licensing.license_hold(license=license_, reason="disputed", ref="dp_9")
    key = log_keys.verifier_key()
    copy = tmp_path / "log.json"
    assert (
        main(["log-download", "--url", live_server.url, "--verifier-key", key, "--out", str(copy)])
        == 0
    )
    (tmp_path / "root.pem").write_text(identity.current().root_pem)
    (tmp_path / "stamped.wav").write_bytes(stamped)
    (tmp_path / "receipt.jws").write_text(work.receipt)
    (tmp_path / "license.jws").write_text(license_.jws)
    (tmp_path / "jwks.json").write_text(client.get("/.well-known/jwks.json").content.decode())
    offline = ["--log", str(copy), "--verifier-key", key]
    capsys.readouterr()

    # No --url anywhere: everything is read from the copy, every entry.
    assert (
        main(
            ["audio", "--root", str(tmp_path / "root.pem"), *offline, str(tmp_path / "stamped.wav")]
        )
        == 1
    )
    assert "invalid: audio.voided: voided at " in capsys.readouterr().err
    receipt = ["receipt", str(tmp_path / "receipt.jws"), "--jwks", str(tmp_path / "jwks.json")]
    assert main([*receipt, *offline]) == 1
    assert "invalid: receipt.voided:" in capsys.readouterr().err
    license_args = ["license", str(tmp_path / "license.jws"), "--jwks", str(tmp_path / "jwks.json")]
    assert main([*license_args, *offline, "--json"]) == 1
    out, err = capsys.readouterr()
    assert "invalid: suspended: the log shows: held (disputed)" in err
    checks = json.loads(out)["checks"]
    assert checks["log"]["index_from"] == "the copy of the log"
    assert checks["revocation"]["event"]["event"]["type"] == "license.held"

    # A copy with one entry altered does not load.
    body = json.loads(copy.read_text())
    body["entries"][0] = body["entries"][1]
    copy.write_text(json.dumps(body))
    assert main([*receipt, *offline]) == 1
    assert "invalid: log.entries_mismatch:" in capsys.readouterr().err


def test_a_copy_older_than_what_the_monitor_saw_is_refused(
    live_server: Any, license_: Any, wav: bytes, tmp_path: Path, capsys: Any
) -> None:
    work = record(license_, wav)
    key = log_keys.verifier_key()
    copy, state = tmp_path / "log.json", tmp_path / "monitor.json"
    assert (
        main(["log-download", "--url", live_server.url, "--verifier-key", key, "--out", str(copy)])
        == 0
    )
    work_void(brand=license_.brand, work_id=work.work_id)  # after the copy was made
    assert (
        main(["monitor", "--url", live_server.url, "--state", str(state), "--verifier-key", key])
        == 0
    )
    (tmp_path / "receipt.jws").write_text(work.receipt)
    jwks = f"{live_server.url}/.well-known/jwks.json"
    capsys.readouterr()
    argv = ["receipt", str(tmp_path / "receipt.jws"), "--jwks", jwks, "--log", str(copy)]
    assert main([*argv, "--verifier-key", key]) == 0, "alone, the old copy says active"
    assert main([*argv, "--state", str(state)]) == 1
    assert "invalid: log.rollback: the copy is of size" in capsys.readouterr().err


def test_a_receipt_signed_with_another_duration_than_logged_is_refused(
    live_server: Any, license_: Any, wav: bytes, tmp_path: Path, capsys: Any
) -> None:
    from licensing.keys import active_signer
    from verifier.jws import TYP_RECEIPT, Signer, verify_jws

    work = record(license_, wav)
    key, private = active_signer()
    payload = dict(verify_jws(work.receipt, {key.kid: private.public_key()}, TYP_RECEIPT).payload)
    copy = tmp_path / "log.json"
    log_key = log_keys.verifier_key()
    assert (
        main(
            [
                "log-download",
                "--url",
                live_server.url,
                "--verifier-key",
                log_key,
                "--out",
                str(copy),
            ]
        )
        == 0
    )
    (tmp_path / "jwks.json").write_text(json.dumps(jwks()))
    argv = ["receipt", str(tmp_path / "r.jws"), "--jwks", str(tmp_path / "jwks.json")]
    argv += ["--log", str(copy), "--verifier-key", log_key]
    # A buggy or dishonest registry signs a receipt for the logged work, but 1 ms long.
    for forged, why in (
        ({**payload, "duration_ms": "1"}, "the receipt says 1 ms"),
        ({**payload, "duration_measured": True}, "the receipt says the duration was measured"),
    ):
        (tmp_path / "r.jws").write_text(Signer(private, key.kid, TYP_RECEIPT).sign(forged))
        capsys.readouterr()
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "invalid: log.entry_mismatch:" in err and why in err
    (tmp_path / "r.jws").write_text(work.receipt)
    assert main(argv) == 0
    assert "note: without --state" in capsys.readouterr().err, "a copy's age is said"
