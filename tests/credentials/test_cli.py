"""`python -m verifier audio` reads credentials offline; `python -m verifier stamp` stamps
from a brand's own pipeline; `manage.py c2pa_identity` makes the registry's chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from credentials import identity
from licensing.keys import jwks
from royalties.models import WorkStamp
from tests.credentials.conftest import record
from tests.credentials.test_stamping import flip_audio_byte
from verifier.cli import main

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stamped_work(
    live_server: Any, license_: Any, bob_key: str, wav: bytes, tmp_path: Path
) -> tuple[Any, Path]:
    """A work recorded, then stamped through `verifier stamp` against the live server."""
    work = record(license_, wav)
    (tmp_path / "in.wav").write_bytes(wav)
    (tmp_path / "key").write_text(bob_key + "\n")
    status = main(
        [
            "stamp",
            "--url",
            live_server.url,
            "--key-file",
            str(tmp_path / "key"),
            "--work",
            work.work_id,
            str(tmp_path / "in.wav"),
            str(tmp_path / "out.wav"),
        ]
    )
    assert status == 0
    return work, tmp_path / "out.wav"


def _files(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "root.pem").write_text(identity.current().root_pem)
    (tmp_path / "jwks.json").write_text(json.dumps(jwks()))
    return str(tmp_path / "root.pem"), str(tmp_path / "jwks.json")


def test_stamp_then_read_offline(
    stamped_work: tuple[Any, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work, out = stamped_work
    assert WorkStamp.objects.filter(work=work).exists()
    root, keys = _files(tmp_path)
    capsys.readouterr()
    assert main(["audio", "--root", root, "--jwks", keys, "--json", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["trusted"] and report["ai_generated"]
    assert report["timbre"]["work_id"] == work.work_id
    assert report["receipt"]["valid"] is True
    # Human-readable by default.
    assert main(["audio", "--root", root, str(out)]) == 0
    text = capsys.readouterr().out
    assert "credentials: Trusted" in text and f"work_id: {work.work_id}" in text


def test_read_offline_rejects_tampered_untrusted_and_bare_files(
    stamped_work: tuple[Any, Path], tmp_path: Path, wav: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = stamped_work
    root, _ = _files(tmp_path)
    tampered = tmp_path / "tampered.wav"
    tampered.write_bytes(flip_audio_byte(out.read_bytes()))
    assert main(["audio", "--root", root, str(tampered)]) == 1
    assert "invalid: audio.invalid" in capsys.readouterr().err

    other_root = tmp_path / "other-root.pem"
    other_root.write_text(identity.generate().identity.root_pem)
    assert main(["audio", "--root", str(other_root), str(out)]) == 1
    assert "invalid: audio.untrusted" in capsys.readouterr().err

    bare = tmp_path / "bare.wav"
    bare.write_bytes(wav)
    assert main(["audio", "--root", root, str(bare)]) == 1
    assert "invalid: audio.no_manifest" in capsys.readouterr().err

    other_keys = tmp_path / "other-jwks.json"
    other_keys.write_text(json.dumps({"keys": []}))
    assert main(["audio", "--root", root, "--jwks", str(other_keys), str(out)]) == 1
    assert "invalid: audio.bad_receipt" in capsys.readouterr().err


def test_stamp_reports_a_refusal(
    live_server: Any,
    license_: Any,
    bob_key: str,
    wav: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = record(license_, wav)
    (tmp_path / "other.wav").write_bytes(wav[:-2] + b"\x07\x00")
    (tmp_path / "key").write_text(bob_key)
    args = ["stamp", "--url", live_server.url, "--key-file", str(tmp_path / "key")]
    status = main([*args, "--work", work.work_id, str(tmp_path / "other.wav"), "out.wav"])
    assert status == 1
    err = capsys.readouterr().err
    assert "stamp.refused: HTTP 400" in err and work.content_sha256 in err
    assert not (tmp_path / "out.wav").exists() and not WorkStamp.objects.exists()
    (tmp_path / "key").write_text("tmb_not_a_key")
    assert main([*args, "--work", work.work_id, str(tmp_path / "other.wav"), "x.wav"]) == 1
    assert "HTTP 401" in capsys.readouterr().err


def test_the_identity_command_writes_files_and_never_overwrites_by_accident(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, ca = tmp_path / "keys", tmp_path / "offline"
    call_command("c2pa_identity", "create", "--out-dir", str(out), "--ca-dir", str(ca))
    names = sorted(p.name for p in out.iterdir())
    assert names == ["c2pa-chain.pem", "c2pa-root.pem", "c2pa-signer.pem"]
    assert (out / "c2pa-signer.pem").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in ca.iterdir()) == [
        "c2pa-intermediate-ca.key.pem",
        "c2pa-root-ca.key.pem",
    ]
    with pytest.raises(CommandError, match="--force"):
        call_command("c2pa_identity", "create", "--out-dir", str(out))
    call_command("c2pa_identity", "show", "--out-dir", str(out))
    assert "C2PA Root CA" in capsys.readouterr().out
