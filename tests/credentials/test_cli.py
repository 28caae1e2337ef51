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
from tests.credentials.helpers import flip_audio_byte, record
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
    # A bad key is not a verdict on the audio: the stamp could not be asked for (exit 2).
    assert main([*args, "--work", work.work_id, str(tmp_path / "other.wav"), "x.wav"]) == 2
    assert "error: the registry answered HTTP 401" in capsys.readouterr().err


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


def test_stamp_never_follows_a_redirect_with_the_key(
    tmp_path: Path, wav: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    import http.server
    import threading

    seen: list[str] = []

    class Redirecting(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/elsewhere")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "in.wav").write_bytes(wav)
    (tmp_path / "key").write_text("tmb_secret")
    url = f"http://127.0.0.1:{server.server_port}"
    args = ["stamp", "--url", url, "--key-file", str(tmp_path / "key"), "--work", "wrk_x"]
    try:
        assert main([*args, str(tmp_path / "in.wav"), str(tmp_path / "out.wav")]) == 2
    finally:
        server.shutdown()
    assert seen == ["Bearer tmb_secret"]  # once, to the registry; never to the redirect
    assert "HTTP 302" in capsys.readouterr().err


def test_audio_refuses_a_root_that_is_not_a_certificate(
    tmp_path: Path, wav: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "root.pem").write_text("not a certificate")
    (tmp_path / "a.wav").write_bytes(wav)
    assert main(["audio", "--root", str(tmp_path / "root.pem"), str(tmp_path / "a.wav")]) == 2
    assert "holds no PEM certificate" in capsys.readouterr().err


def test_renewing_keeps_the_root_and_old_stamps_stay_trusted(
    tmp_path: Path, license_: Any, wav: bytes, settings: Any
) -> None:
    from credentials import stamping
    from verifier import audio

    out, ca = tmp_path / "keys", tmp_path / "offline"
    (ca).mkdir()
    (ca / "c2pa-root-ca.key.pem").write_text("an old key")
    (ca / "c2pa-root-ca.key.pem").chmod(0o644)
    with pytest.raises(CommandError, match="--force"):
        call_command("c2pa_identity", "create", "--out-dir", str(out), "--ca-dir", str(ca))
    assert (ca / "c2pa-root-ca.key.pem").read_text() == "an old key"  # untouched
    call_command("c2pa_identity", "create", "--out-dir", str(out), "--ca-dir", str(ca), "--force")
    for key in ca.iterdir():
        assert key.stat().st_mode & 0o777 == 0o600, key
    settings.TIMBRE_C2PA_KEY_FILE = out / "c2pa-signer.pem"
    settings.TIMBRE_C2PA_CHAIN_FILE = out / "c2pa-chain.pem"
    settings.TIMBRE_C2PA_ROOT_FILE = out / "c2pa-root.pem"
    work = record(license_, wav)
    before, _ = stamping.stamp(actor=None, brand=license_.brand, work_id=work.work_id, data=wav)
    root = (out / "c2pa-root.pem").read_text()
    old_key = (out / "c2pa-signer.pem").read_bytes()

    call_command("c2pa_identity", "renew", "--out-dir", str(out), "--ca-dir", str(ca))
    assert (out / "c2pa-root.pem").read_text() == root
    assert (out / "c2pa-signer.pem").read_bytes() != old_key
    after, _ = stamping.stamp(actor=None, brand=license_.brand, work_id=work.work_id, data=wav)
    assert audio.read(before, root).trusted and audio.read(after, root).trusted
    with pytest.raises(CommandError, match="--ca-dir"):
        call_command("c2pa_identity", "renew", "--out-dir", str(out))
