"""Verify licenses for anyone: signature, key status, license status, log inclusion.

Every failure has a stable machine-readable reason. Batches share their database work:
the licenses (with their keys' and voices' status) are fetched in one query, the
checkpoint in one more, and the subtrees of every inclusion proof together; those
subtrees are kept for the next call in the same signed tree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection
from django.utils import timezone

from licensing.keys import trusted_keys
from licensing.models import License, SigningKey
from registry.models import VoiceModel
from transparency.selectors import inclusion_proofs, latest_tree_head
from verifier.errors import JWSError, VerificationError
from verifier.jcs import parse_json_strict
from verifier.jws import (
    ALGORITHM,
    TYP_LICENSE,
    b64url_decode,
    decode_jws,
    kid_for_public_key,
    public_key_from_jwk,
    verify_jws_signature,
)
from verifier.reasons import WORDS, reason_for_jws_error

MAX_BATCH = 1000


@dataclass
class Verdict:
    valid: bool = False
    reason: str | None = None
    detail: str = ""
    kid: str | None = None
    key_status: str | None = None
    license_id: str | None = None
    license_status: str | None = None
    document: Any = None
    log_index: int | None = None
    inclusion: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "detail": self.detail,
            "kid": self.kid,
            "key_status": self.key_status,
            "license_id": self.license_id,
            "license_status": self.license_status,
            "document": self.document,
            "log_index": self.log_index,
            "inclusion": self.inclusion,
        }

    def fail(self, reason: str, detail: str) -> Verdict:
        self.valid = False
        self.reason = reason
        self.detail = detail
        return self


class _Issued(NamedTuple):
    """What verification needs of a license row, its signing key and its voice."""

    license_id: str
    log_index: int
    revoked: bool
    on_hold: bool
    valid_until: date
    voice_status: str
    kid: str
    key_status: str
    compromised_from_index: int | None


# Raw SQL, not the ORM: on a one-license request, compiling the ORM query costs more than
# running it. Columns in _Issued's order, after the token's digest.
_ISSUED_SQL = """
SELECT l.jws_sha256, l.license_id, l.log_index, l.revoked, l.on_hold, l.valid_until, v.status,
       k.kid, k.status, k.compromised_from_index
FROM licensing_license l
JOIN registry_voicemodel v ON v.id = l.voice_id
JOIN licensing_signingkey k ON k.id = l.signing_key_id
WHERE l.jws_sha256 IN ({placeholders})
"""


def _issued_rows(digests: set[str]) -> dict[str, _Issued]:
    if not digests:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            _ISSUED_SQL.format(placeholders=", ".join(["%s"] * len(digests))), list(digests)
        )
        rows = cursor.fetchall()
    issued = {}
    for (
        digest,
        license_id,
        log_index,
        revoked,
        on_hold,
        valid_until,
        voice,
        kid,
        key_status,
        from_index,
    ) in rows:
        if isinstance(valid_until, str):  # SQLite hands dates back as text
            valid_until = date.fromisoformat(valid_until)
        issued[digest] = _Issued(
            license_id,
            log_index,
            bool(revoked),
            bool(on_hold),
            valid_until,
            voice,
            kid,
            key_status,
            from_index,
        )
    return issued


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _digest(token: str) -> str | None:
    try:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()
    except (AttributeError, UnicodeEncodeError):  # not text: the full checks say why
        return None


def verify_licenses(tokens: list[str]) -> list[Verdict]:
    # Licenses are found by the SHA-256 of the token, stored at issuance: one indexed
    # lookup, and a token that differs from the issued one by a single byte finds nothing.
    digests = [_digest(token) for token in tokens]
    issued = _issued_rows({d for d in digests if d})
    keys: dict[str, tuple[SigningKey, Ed25519PublicKey]] | None = None
    today = timezone.now().date()
    verdicts: list[Verdict] = []
    found: list[tuple[Verdict, int]] = []
    checked = _check_issued(tokens, digests, issued)
    for token, digest, fast in zip(tokens, digests, checked, strict=True):
        verdict = fast or Verdict()
        verdicts.append(verdict)
        lic = issued.get(digest) if digest else None
        if lic is None or fast is None:
            # Not a token this registry issued, or one that does not look the part: every
            # check, strictly and in order, so the verdict names the first that fails.
            if keys is None:
                keys = trusted_keys()
            if not _verify_token(token, keys, verdict):
                continue
            if lic is None or lic.license_id != verdict.license_id:
                verdict.fail("unknown_license", "this registry never issued this license")
                continue
        verdict.log_index = lic.log_index
        status = _status_at(lic.revoked, lic.on_hold, lic.voice_status, lic.valid_until, today)
        verdict.license_status = status
        if (
            lic.key_status == SigningKey.Status.COMPROMISED
            and lic.compromised_from_index is not None
            and lic.log_index >= lic.compromised_from_index
        ):
            verdict.fail(
                "key_compromised",
                f"signed with key {lic.kid}, compromised from log index "
                f"{lic.compromised_from_index}",
            )
            continue
        if status == License.Status.ACTIVE:
            verdict.valid = True
        else:
            verdict.fail(str(status), _STATUS_DETAIL[status])
        found.append((verdict, lic.log_index))

    head = latest_tree_head() if found else None
    if head is not None:
        tree_size, root_hash = head
        covered = [(v, index) for v, index in found if index < tree_size]
        proofs = inclusion_proofs([index for _, index in covered], tree_size, root_hash=root_hash)
        root = _b64(root_hash)
        # Proofs in one tree share their upper hashes: encode each hash once.
        encoded: dict[bytes, str] = {}
        for (verdict, _), proof in zip(covered, proofs, strict=True):
            path = []
            for node in proof:
                text = encoded.get(node)
                if text is None:
                    text = encoded[node] = _b64(node)
                path.append(text)
            verdict.inclusion = {
                "tree_size": tree_size,
                "root_hash": root,
                "proof": path,
            }
    return verdicts


def _verify_token(
    token: str, keys: dict[str, tuple[SigningKey, Ed25519PublicKey]], verdict: Verdict
) -> bool:
    """Every check of the token itself, strictly, as for a token from anywhere."""
    try:
        decoded = decode_jws(token)
    except JWSError as exc:
        verdict.fail(reason_for_jws_error(exc.code), exc.message)
        return False
    kid = decoded.header.get("kid")
    verdict.kid = kid if isinstance(kid, str) else None
    known = keys.get(verdict.kid or "")
    if known is None:
        verdict.fail("unknown_key", f"no key of this registry has kid {kid!r}")
        return False
    key_row, public_key = known
    verdict.key_status = key_row.status
    if not _is_license_typ(decoded.header.get("typ")):
        typ = decoded.header.get("typ")
        verdict.fail("wrong_type", f"typ must be {TYP_LICENSE!r}, got {typ!r}")
        return False
    try:
        verify_jws_signature(decoded, public_key)
        document = parse_json_strict(decoded.payload_bytes)
    except JWSError as exc:
        verdict.fail(reason_for_jws_error(exc.code), exc.message)
        return False
    except VerificationError as exc:  # strict JSON: duplicate keys, bad numbers...
        verdict.fail("malformed", f"payload is not strict JSON: {exc.message}")
        return False
    if not isinstance(document, dict) or document.get("schema") != "timbre.license/1":
        verdict.fail("malformed", "the payload is not a timbre.license/1 document")
        return False
    verdict.document = document
    verdict.license_id = str(document.get("license_id", ""))
    return True


# Signature checks of a big batch run on every core: cryptography releases the GIL while
# it verifies, so a batch of 1,000 takes about half the time on two cores. The pool is
# made on first use, in the process that uses it (never before a fork).
PARALLEL_FROM = 64
_pool: ThreadPoolExecutor | None = None


def _check_issued(
    tokens: list[str], digests: list[str | None], issued: dict[str, _Issued]
) -> list[Verdict | None]:
    """For each token we issued, its verdict so far if it checks out as issued, else None.

    The worker threads touch no database (a thread's connection would outlive its work):
    the keys are looked up here, first.
    """
    public_keys = {
        lic.kid: _PUBLIC_KEYS.get(lic.kid) or _public_key(lic.kid) for lic in issued.values()
    }

    def check(indices: range) -> list[Verdict | None]:
        out: list[Verdict | None] = []
        for i in indices:
            digest = digests[i]
            lic = issued.get(digest) if digest else None
            key = public_keys.get(lic.kid) if lic is not None else None
            verdict = Verdict()
            ok = lic is not None and key is not None
            out.append(verdict if ok and _verify_as_issued(tokens[i], lic, key, verdict) else None)
        return out

    workers = min(os.cpu_count() or 1, 4)
    if len(tokens) < PARALLEL_FROM or workers < 2:
        return check(range(len(tokens)))
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify")
    step = -(-len(tokens) // workers)
    chunks = [range(start, min(start + step, len(tokens))) for start in range(0, len(tokens), step)]
    return [verdict for part in _pool.map(check, chunks) for verdict in part]


def _verify_as_issued(
    token: str, lic: _Issued, public_key: Ed25519PublicKey, verdict: Verdict
) -> bool:
    """Verify a token whose SHA-256 is that of a license we issued; False if anything is off.

    Such a token is, byte for byte, the one this registry signed: its base64url and JSON
    are canonical by construction, so the strict re-checks of the encoding that
    :func:`_verify_token` makes for tokens from elsewhere (canonical base64url, duplicate
    keys, number ranges) cannot fail here and are skipped. Everything else is checked as
    for any token: the header (parsed strictly, once per distinct header) names the
    license's key and type, the signature verifies with that key, and the signed payload
    is that license's document. On False the caller makes every check the slow way,
    which names the reason.
    """
    header_b64, _, rest = token.partition(".")
    payload_b64, _, signature_b64 = rest.partition(".")
    if _license_header(header_b64) != lic.kid:
        return False
    try:
        signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
        payload = base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
        public_key.verify(signature, token[: len(header_b64) + 1 + len(payload_b64)].encode())
        document = json.loads(payload)
    except (ValueError, InvalidSignature):
        return False
    if (
        not isinstance(document, dict)
        or document.get("schema") != "timbre.license/1"
        or document.get("license_id") != lic.license_id
    ):
        return False
    verdict.kid = lic.kid
    verdict.key_status = lic.key_status
    verdict.document = document
    verdict.license_id = lic.license_id
    return True


@lru_cache(maxsize=64)  # a pure function of the string; all of a key's licenses share one
def _license_header(header_b64: str) -> str | None:
    """The kid of a protected header fit for a license, else None."""
    try:
        header = parse_json_strict(b64url_decode(header_b64, "protected header"))
    except (JWSError, VerificationError):
        return None
    if (
        not isinstance(header, dict)
        or header.get("alg") != ALGORITHM
        or "crit" in header
        or "b64" in header
        or not isinstance(header.get("kid"), str)
        or not _is_license_typ(header.get("typ"))
    ):
        return None
    return str(header["kid"])


def _is_license_typ(typ: Any) -> bool:
    return isinstance(typ, str) and typ.lower().removeprefix("application/") == TYP_LICENSE


# kid -> public key. A kid is the RFC 7638 thumbprint of its key, checked on the way in,
# so an entry can never go stale; a key's status is never cached, it comes with each row.
_PUBLIC_KEYS: dict[str, Ed25519PublicKey] = {}


def _public_key(kid: str) -> Ed25519PublicKey | None:
    jwk = SigningKey.objects.filter(kid=kid).values_list("public_jwk", flat=True).first()
    if jwk is None:
        return None
    try:
        key = public_key_from_jwk(jwk)
    except JWSError:
        return None
    if kid_for_public_key(key) != kid:
        return None
    _PUBLIC_KEYS[kid] = key
    return key


@lru_cache(maxsize=1024)
def _status_at(
    revoked: bool, on_hold: bool, voice_status: str, valid_until: date, today: date
) -> str:
    # License.status_at stays the one definition of a license's status; on a given day a
    # row-less License with the same four fields answers for every license that has them.
    probe = License(
        revoked=revoked,
        on_hold=on_hold,
        valid_until=valid_until,
        voice=VoiceModel(status=voice_status),
    )
    return probe.status_at(today)


_STATUS_DETAIL = {
    License.Status.REVOKED: "the license was revoked",
    License.Status.EXPIRED: "the license's term has ended",
    License.Status.SUSPENDED: (
        "the license is suspended: its voice is not live, or its payment is disputed, "
        "refunded or overdue"
    ),
}


def license_verdict(token: str) -> dict[str, Any]:
    """One license verified, with the verdict in plain words for the /verify/ page."""
    verdict = verify_licenses([token])[0]
    return {
        "verdict": verdict,
        "words": WORDS.get(verdict.reason or "", verdict.detail),
        "document": verdict.document,
    }
