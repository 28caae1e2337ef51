"""Reading content credentials (C2PA manifests) out of audio files.

The registry stamps each work's audio with a manifest signed by its C2PA identity: an
actions assertion saying the audio was created by a trained algorithm, and an
``org.timbre.license`` assertion naming the license, the work, its receipt and log index.
This module reads one back and judges it against a trust anchor (the registry's root
certificate), offline. The registry's /verify/ and ``POST /api/v1/verify/audio`` use the
same code.

It needs ``c2pa-python``, imported only when a file is read, so the rest of ``verifier``
keeps its two dependencies.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verifier.errors import JWSError
from verifier.jws import TYP_RECEIPT, verify_jws

TIMBRE_ASSERTION = "org.timbre.license"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

# The formats the registry stamps and reads, by what their first bytes say.
MIME_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "m4a": "audio/mp4"}


def _after_id3(data: bytes) -> bytes:
    """The bytes after a leading ID3v2 tag (stamped FLAC files start with one)."""
    if data[:3] != b"ID3" or len(data) < 10:
        return data
    size = 0
    for byte in data[6:10]:  # syncsafe: 7 bits per byte
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if data[5] & 0x10 else 0
    return data[10 + size + footer :]


def sniff(data: bytes) -> str | None:
    """The audio MIME type that the file's first bytes announce, or None. Give the whole
    file, or at least its first few kilobytes: a leading ID3 tag is looked past."""
    if data[:3] == b"ID3":
        inner = _after_id3(data)
        if inner[:4] == b"fLaC":
            return MIME_TYPES["flac"]
        return MIME_TYPES["mp3"]
    head = data[:16]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return MIME_TYPES["wav"]
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return MIME_TYPES["mp3"]
    if head[:4] == b"fLaC":
        return MIME_TYPES["flac"]
    if head[4:8] == b"ftyp":
        return MIME_TYPES["m4a"]
    return None


# Failure codes that mean the audio or the manifest changed after signing (as opposed to
# a problem with the signing certificate, e.g. its expiry).
_TAMPERING = ("assertion.", "claimSignature.mismatch", "claim.", "manifest.")


@dataclass
class AudioReport:
    """What a file's content credentials say, and how far they can be trusted."""

    mime: str | None
    manifest: bool = False
    # False when the file could not be parsed at all (damaged, or not what it claims).
    readable: bool = True
    # "Trusted": intact and signed by a certificate chaining to the trust anchor;
    # "Valid": intact, but signed by someone else; "Invalid": altered or broken.
    state: str | None = None
    failures: list[str] = field(default_factory=list)
    signer: dict[str, Any] = field(default_factory=dict)
    ai_generated: bool = False
    timbre: dict[str, Any] | None = None
    error: str = ""

    @property
    def valid(self) -> bool:
        return self.state in ("Valid", "Trusted")

    @property
    def trusted(self) -> bool:
        return self.state == "Trusted"

    @property
    def tampered(self) -> bool:
        """Invalid because something changed after signing (not a certificate problem)."""
        if self.valid or not self.manifest:
            return False
        return (
            not self.readable
            or any(f.startswith(_TAMPERING) or f.endswith(".mismatch") for f in self.failures)
            or not self.failures
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.mime,
            "manifest": self.manifest,
            "readable": self.readable,
            "validation_state": self.state,
            "valid": self.valid,
            "trusted": self.trusted,
            "failures": self.failures,
            "signer": self.signer,
            "ai_generated": self.ai_generated,
            "timbre": self.timbre,
            **({"error": self.error} if self.error else {}),
        }


def _context(root_pem: str) -> Any:
    from c2pa import Context

    # trust_anchors replaces the SDK's built-in anchors: only the registry's root counts.
    return Context.from_dict(
        {
            "trust": {"trust_anchors": root_pem},
            "verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
        }
    )


def _assertion(manifest: dict[str, Any], label: str) -> dict[str, Any] | None:
    for found in manifest.get("assertions") or []:
        name = str(found.get("label", ""))
        if name == label or name.startswith(label + "."):
            data = found.get("data")
            return data if isinstance(data, dict) else None
    return None


def read(data: bytes, root_pem: str) -> AudioReport:
    """Read and judge the content credentials of one audio file."""
    import c2pa

    mime = sniff(data[:65536])
    report = AudioReport(mime=mime)
    if mime is None:
        report.error = "not a WAV, MP3, FLAC or M4A file"
        return report
    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, _context(root_pem))
        if reader is None:
            return report  # no manifest at all
        with reader:
            report.manifest = True
            report.state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            active = reader.get_active_manifest() or {}
    except (c2pa.C2paError, KeyError, ValueError) as exc:
        # The file or its manifest store is damaged: nothing it claims can be believed.
        report.readable = False
        report.state = "Invalid"
        report.error = f"the file could not be read: {exc}"[:300]
        return report
    failed = (results.get("activeManifest") or {}).get("failure") or []
    report.failures = sorted({str(f.get("code")) for f in failed})
    info = active.get("signature_info") or {}
    report.signer = {k: info[k] for k in ("alg", "issuer", "common_name") if k in info}
    actions = (_assertion(active, "c2pa.actions") or {}).get("actions") or []
    report.ai_generated = any(
        isinstance(a, dict)
        and a.get("action") == "c2pa.created"
        and a.get("digitalSourceType") == TRAINED_ALGORITHMIC_MEDIA
        for a in actions
    )
    report.timbre = _assertion(active, TIMBRE_ASSERTION)
    return report


def check_receipt(timbre: dict[str, Any], keys: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the assertion's receipt is signed by one of ``keys`` (kid -> public key)
    and names the same work, license, audio hash and log index as the assertion."""
    receipt = timbre.get("receipt")
    if not isinstance(receipt, str) or not receipt:
        return False, "the credentials carry no receipt"
    try:
        payload = verify_jws(receipt, keys, TYP_RECEIPT).payload
    except JWSError as exc:
        return False, f"the receipt does not verify: {exc.message}"
    if not isinstance(payload, dict):
        return False, "the receipt is not a receipt document"
    for name in ("work_id", "license_id", "content_sha256", "log_index"):
        if str(payload.get(name)) != str(timbre.get(name)):
            return False, f"the receipt's {name} is not the one the credentials name"
    return True, "the receipt is signed by the registry and names this work"
