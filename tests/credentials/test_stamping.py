"""Stamping works' audio with C2PA content credentials and reading them back: through the
API, the /verify/ page, and the offline verifier."""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import pytest
from django.test import Client

from credentials import identity, stamping
from licensing import services as licensing
from royalties.models import WorkStamp
from tests.credentials.helpers import flip_audio_byte, record
from verifier import audio

pytestmark = pytest.mark.django_db


def stamp(client: Client, key: str, work_id: str, data: bytes, mime: str = "audio/wav") -> Any:
    return client.post(
        f"/api/v1/works/{work_id}/stamp",
        data=data,
        content_type=mime,
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def root() -> str:
    return identity.current().root_pem


@pytest.mark.parametrize("kind", ["wav", "mp3"])
def test_a_stamped_file_reads_back_valid_trusted_and_names_its_license_and_work(
    client: Client, license_: Any, bob_key: str, kind: str, request: Any
) -> None:
    data = request.getfixturevalue(kind)
    mime = audio.MIME_TYPES[kind]
    work = record(license_, data)
    response = stamp(client, bob_key, work.work_id, data, mime)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == mime
    assert response["Content-Disposition"] == f'attachment; filename="{work.work_id}.{kind}"'
    stamped = response.content
    assert stamped != data and audio.sniff(stamped[:16]) == mime

    report = audio.read(stamped, root())
    assert report.manifest and report.valid and report.trusted, report
    assert report.state == "Trusted" and report.failures == []
    assert report.ai_generated
    timbre = report.timbre
    assert timbre is not None
    assert timbre["license_id"] == license_.license_id
    assert timbre["work_id"] == work.work_id
    assert timbre["content_sha256"] == hashlib.sha256(data).hexdigest()
    assert timbre["receipt"] == work.receipt and timbre["log_index"] == str(work.log_index)
    assert timbre["voice"]["name"] == license_.voice.display_name
    assert timbre["performer"]["name"] == license_.voice.performer.stage_name

    # Both lookups lead to the work: the stamped file's own hash, and the recorded one.
    assert WorkStamp.objects.get().stamped_sha256 == hashlib.sha256(stamped).hexdigest()
    for digest in (hashlib.sha256(stamped).hexdigest(), work.content_sha256):
        found = client.get(f"/api/v1/works/by-hash/{digest}").json()
        assert [m["work_id"] for m in found["matches"]] == [work.work_id]

    verdict = client.post("/api/v1/verify/audio", data=stamped, content_type=mime).json()
    assert verdict["verdict"] == "licensed" and verdict["receipt"]["valid"] is True
    assert verdict["license"]["license_id"] == license_.license_id
    assert verdict["work"]["work_id"] == work.work_id


def test_tampered_audio_reads_as_invalid(
    client: Client, license_: Any, bob_key: str, wav: bytes
) -> None:
    work = record(license_, wav)
    stamped = stamp(client, bob_key, work.work_id, wav).content
    report = audio.read(flip_audio_byte(stamped), root())
    assert report.manifest and not report.valid and report.state == "Invalid"
    assert "assertion.dataHash.mismatch" in report.failures
    verdict = client.post(
        "/api/v1/verify/audio", data=flip_audio_byte(stamped), content_type="audio/wav"
    ).json()
    assert verdict["verdict"] == "altered"


def test_a_file_stamped_by_another_chain_is_untrusted(
    client: Client, license_: Any, wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = record(license_, wav)
    impostor = identity.generate(org="Timbre Registry").identity  # same name, other keys
    monkeypatch.setattr(identity, "current", lambda: impostor)
    forged = stamping._sign(stamping._manifest(work, "audio/wav"), "audio/wav", wav)
    monkeypatch.undo()
    report = audio.read(forged, root())
    assert report.valid and not report.trusted and report.state == "Valid"
    assert "signingCredential.untrusted" in report.failures
    verdict = client.post("/api/v1/verify/audio", data=forged, content_type="audio/wav").json()
    assert verdict["verdict"] == "untrusted"


def test_audio_that_is_not_the_recorded_work_is_refused_and_nothing_is_kept(
    client: Client, license_: Any, bob_key: str, wav: bytes
) -> None:
    work = record(license_, wav)
    other = wav[:-2] + b"\x01\x00"
    response = stamp(client, bob_key, work.work_id, other)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert hashlib.sha256(other).hexdigest() in detail and work.content_sha256 in detail
    assert not WorkStamp.objects.exists()


@pytest.mark.parametrize(
    ("body", "mime", "status", "words"),
    [
        (b"", "audio/wav", 400, "Send the audio"),
        (b"this is plain text, not audio at all", "audio/wav", 400, "not a WAV, MP3"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "audio/wav", 400, "SHA-256"),
    ],
)
def test_bad_files_get_a_clear_4xx(
    client: Client,
    license_: Any,
    bob_key: str,
    wav: bytes,
    body: bytes,
    mime: str,
    status: int,
    words: str,
) -> None:
    work = record(license_, wav)
    response = stamp(client, bob_key, work.work_id, body, mime)
    assert response.status_code == status and words in response.json()["detail"]
    assert not WorkStamp.objects.exists()


def test_a_file_over_the_limit_is_a_413(
    client: Client, license_: Any, bob_key: str, wav: bytes, settings: Any
) -> None:
    work = record(license_, wav)
    from django.core.files.uploadedfile import SimpleUploadedFile

    from credentials.api import HEADROOM

    settings.TIMBRE_MAX_STAMP_BYTES = 1024
    response = stamp(client, bob_key, work.work_id, wav)
    assert response.status_code == 413
    # Reading allows room for the manifest a stamp adds, and no more.
    response = client.post("/api/v1/verify/audio", data=wav, content_type="audio/wav")
    assert response.status_code == 200
    huge = wav + bytes(1024 + HEADROOM)
    response = client.post("/api/v1/verify/audio", data=huge, content_type="audio/wav")
    assert response.status_code == 413
    response = client.post(
        "/api/v1/verify/audio", {"audio": SimpleUploadedFile("a.wav", huge, "audio/wav")}
    )
    assert response.status_code == 413


def test_what_the_registry_stamps_it_can_read_back_at_the_size_limit(
    client: Client, license_: Any, bob_key: str, wav: bytes, settings: Any
) -> None:
    work = record(license_, wav)
    settings.TIMBRE_MAX_STAMP_BYTES = len(wav)
    stamped = stamp(client, bob_key, work.work_id, wav).content
    assert len(stamped) > len(wav)
    verdict = client.post("/api/v1/verify/audio", data=stamped, content_type="audio/wav")
    assert verdict.json()["verdict"] == "licensed"


def test_only_the_works_brand_stamps_it(
    client: Client, license_: Any, bob_key: str, wav: bytes, brand_hank: Any, auditor_ada: Any
) -> None:
    from registry import services as registry_services

    work = record(license_, wav)
    hank_brand = brand_hank.brand_memberships.get().brand
    hank_key = registry_services.api_key_create(actor=brand_hank, owner=hank_brand, name="k")[1]
    assert stamp(client, hank_key, work.work_id, wav).status_code == 404
    auditor = auditor_ada.auditor
    ada_key = registry_services.api_key_create(actor=auditor_ada, owner=auditor, name="k")[1]
    assert stamp(client, ada_key, work.work_id, wav).status_code == 403
    assert client.post(
        f"/api/v1/works/{work.work_id}/stamp", data=wav, content_type="audio/wav"
    ).status_code in (401, 403)
    assert stamp(client, bob_key, "wrk_nope", wav).status_code == 404
    assert not WorkStamp.objects.exists()


def test_a_voided_work_is_not_stamped(
    client: Client, license_: Any, bob_key: str, wav: bytes
) -> None:
    from royalties.services import work_void

    work = record(license_, wav)
    work_void(brand=license_.brand, work_id=work.work_id)
    response = stamp(client, bob_key, work.work_id, wav)
    assert response.status_code == 400 and "voided" in response.json()["detail"]


def test_a_revoked_license_says_so_when_its_stamped_file_is_read(
    client: Client, license_: Any, bob_key: str, wav: bytes, operator: Any
) -> None:
    work = record(license_, wav)
    stamped = stamp(client, bob_key, work.work_id, wav).content
    licensing.license_revoke(actor=operator, license=license_, reason="operator")
    verdict = client.post("/api/v1/verify/audio", data=stamped, content_type="audio/wav").json()
    assert verdict["verdict"] == "revoked" and verdict["license"]["status"] == "revoked"
    assert verdict["credentials"]["trusted"] is True


def test_files_without_credentials_fall_back_to_the_hash(
    client: Client, license_: Any, wav: bytes, mp3: bytes
) -> None:
    work = record(license_, wav)
    recorded = client.post("/api/v1/verify/audio", data=wav, content_type="audio/wav").json()
    assert recorded["verdict"] == "recorded" and recorded["credentials"]["manifest"] is False
    assert [m["work_id"] for m in recorded["lookup"]["matches"]] == [work.work_id]
    unknown = client.post("/api/v1/verify/audio", data=mp3, content_type="audio/mpeg").json()
    assert unknown["verdict"] == "unrecorded" and unknown["lookup"]["matches"] == []
    garbage = client.post("/api/v1/verify/audio", data=b"nope", content_type="audio/wav")
    assert garbage.status_code == 200 and garbage.json()["credentials"]["error"]


def test_the_root_is_published(client: Client) -> None:
    response = client.get("/.well-known/c2pa-root.pem")
    assert response.status_code == 200 and response.content.decode() == root()
    assert response.content.startswith(b"-----BEGIN CERTIFICATE-----")


def test_the_identity_meets_c2pas_certificate_profile() -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    chain = x509.load_pem_x509_certificates(identity.current().chain_pem.encode())
    signer, intermediate = chain
    root_cert = x509.load_pem_x509_certificate(root().encode())
    assert not signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert signer.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    usages = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in list(usages)
    signer.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root_cert)


def test_a_client_asking_for_audio_still_gets_a_readable_refusal(
    client: Client, license_: Any, bob_key: str, wav: bytes
) -> None:
    work = record(license_, wav)
    response = client.post(
        f"/api/v1/works/{work.work_id}/stamp",
        data=b"not audio",
        content_type="audio/wav",
        HTTP_ACCEPT="audio/wav",
        HTTP_AUTHORIZATION=f"Bearer {bob_key}",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    response = client.post(
        f"/api/v1/works/{work.work_id}/stamp",
        data=wav,
        content_type="audio/wav",
        HTTP_ACCEPT="audio/wav",
        HTTP_AUTHORIZATION=f"Bearer {bob_key}",
    )
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"


def _riff_chunk(data: bytes, name: bytes) -> tuple[int, int]:
    pos = 12
    while pos < len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == name:
            return pos + 8, size
        pos += 8 + size + (size & 1)
    raise AssertionError(f"no {name!r} chunk")


def test_a_damaged_manifest_is_never_a_server_error_nor_trusted_with_other_claims(
    client: Client, license_: Any, bob_key: str, wav: bytes
) -> None:
    work = record(license_, wav)
    stamped = stamp(client, bob_key, work.work_id, wav).content
    start, size = _riff_chunk(stamped, b"C2PA")
    unreadable = None
    for offset in range(start, start + size, 11):
        damaged = bytearray(stamped)
        damaged[offset] ^= 0xFF
        report = audio.read(bytes(damaged), root())
        if report.trusted:
            # Only the signature's padding can change without breaking the seal; what the
            # credentials claim is then exactly what was signed.
            assert report.timbre is not None and report.timbre["work_id"] == work.work_id
        if not report.readable and unreadable is None:
            unreadable = bytes(damaged)
    assert unreadable is not None, "no flip made the manifest store unreadable"
    response = client.post("/api/v1/verify/audio", data=unreadable, content_type="audio/wav")
    assert response.status_code == 200 and response.json()["verdict"] == "damaged"
    page = client.post("/verify/", {"audio": _upload("d.wav", unreadable)})
    assert page.status_code == 200 and "Damaged" in page.content.decode()


def _upload(name: str, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, "audio/wav")


def test_an_expired_signing_certificate_is_not_called_tampering(
    client: Client, license_: Any, wav: bytes
) -> None:
    import io
    import time
    from datetime import UTC, datetime, timedelta

    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    work = record(license_, wav)
    # A chain of our making whose signer certificate lasts two seconds.
    fresh = identity.generate()
    inter_key = serialization.load_pem_private_key(fresh.intermediate_key_pem, password=None)
    signer_cert, inter_cert = x509.load_pem_x509_certificates(fresh.identity.chain_pem.encode())
    key = Ed25519PrivateKey.generate()
    ends = datetime.now(UTC) + timedelta(seconds=2)
    short = (
        x509.CertificateBuilder()
        .subject_name(signer_cert.subject)
        .issuer_name(inter_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(minutes=5))
        .not_valid_after(ends)
    )
    for extension in signer_cert.extensions:
        if not isinstance(extension.value, x509.SubjectKeyIdentifier):
            short = short.add_extension(extension.value, critical=extension.critical)
    short = short.sign(inter_key, None)
    chain = "".join(
        c.public_bytes(serialization.Encoding.PEM).decode() for c in (short, inter_cert)
    )
    signer = c2pa.Signer.from_callback(key.sign, c2pa.C2paSigningAlg.ED25519, chain, None)
    builder = c2pa.Builder(stamping._manifest(work, "audio/wav"))
    out = io.BytesIO()
    builder.sign(signer, "audio/wav", io.BytesIO(wav), out)
    signer.close()
    assert audio.read(out.getvalue(), fresh.identity.root_pem).trusted
    time.sleep(max((ends - datetime.now(UTC)).total_seconds(), 0) + 1.1)

    report = audio.read(out.getvalue(), fresh.identity.root_pem)
    assert report.manifest and not report.valid
    assert "signingCredential.expired" in report.failures and not report.tampered
