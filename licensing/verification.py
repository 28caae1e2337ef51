"""Verify licenses for anyone: signature, key status, license status, log inclusion.

Every failure has a stable machine-readable reason. Batches share their database work:
the licenses (with their keys' and voices' status) are fetched in one query, the
checkpoint in one more, and the subtrees of every inclusion proof together; those
subtrees are kept for the next call in the same signed tree.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection
from django.utils import timezone

from licensing.keys import trusted_keys
from licensing.models import License, SigningKey, license_status
from transparency.selectors import inclusion_proofs, latest_tree_head
from verifier.batch import check_license_token, parallel_map, verify_as_issued
from verifier.errors import JWSError
from verifier.jws import kid_for_public_key, public_key_from_jwk
from verifier.keys import KeyStatus, judge_key_status
from verifier.reasons import WORDS

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
            "licensee_verified": self.licensee_verified,
            "log_index": self.log_index,
            "inclusion": self.inclusion,
        }

    @property
    def licensee_verified(self) -> dict[str, Any] | None:
        """The licensee's verified legal name and domain, as the signed license states
        them (only once its signature checked out); None for a license issued to a brand
        that had not verified them, or before verification existed."""
        licensee = self.document.get("licensee") if isinstance(self.document, dict) else None
        verified = licensee.get("verified") if isinstance(licensee, dict) else None
        if not isinstance(verified, dict):
            return None
        return {
            "legal_name": verified.get("legal_name"),
            "domain": verified.get("domain"),
            "method": verified.get("method"),
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
    valid_from: date
    valid_until: date
    voice_status: str
    key: KeyStatus


# Raw SQL, not the ORM: on a one-license request, compiling the ORM query costs more than
# running it. Columns in _Issued's order, after the token's digest.
_ISSUED_SQL = """
SELECT l.jws_sha256, l.license_id, l.log_index, l.revoked, l.on_hold, l.valid_from,
       l.valid_until, v.status,
       k.kid, k.status, k.status_log_index, k.compromised_from_index
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
        valid_from,
        valid_until,
        voice,
        kid,
        key_status,
        status_log_index,
        from_index,
    ) in rows:
        if isinstance(valid_until, str):  # SQLite hands dates back as text
            valid_from, valid_until = (
                date.fromisoformat(valid_from),
                date.fromisoformat(valid_until),
            )
        issued[digest] = _Issued(
            license_id,
            log_index,
            bool(revoked),
            bool(on_hold),
            valid_from,
            valid_until,
            voice,
            KeyStatus(kid, key_status, status_log_index, from_index),
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
        status = _status_at(lic, today)
        verdict.license_status = status
        if status == License.Status.ACTIVE:
            verdict.valid = True
        else:
            verdict.fail(status, _status_detail(status, lic))
            if status in _KEY_REFUSALS:
                continue  # the key vouches for nothing logged there: no proof offered
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
    result = check_license_token(token, {kid: public for kid, (_, public) in keys.items()})
    verdict.kid = result.kid
    known = keys.get(result.kid or "")
    if known is not None:
        verdict.key_status = known[0].status
    if result.document is None:
        verdict.fail(result.reason or "malformed", result.detail)
        return False
    verdict.document = result.document
    verdict.license_id = str(result.document.get("license_id", ""))
    return True


def _check_issued(
    tokens: list[str], digests: list[str | None], issued: dict[str, _Issued]
) -> list[Verdict | None]:
    """For each token we issued, its verdict so far if it checks out as issued, else None.

    The checks run on every core for a big batch; they touch no database, so the keys
    are looked up here, first.
    """
    public_keys = {
        lic.key.kid: _PUBLIC_KEYS.get(lic.key.kid) or _public_key(lic.key.kid)
        for lic in issued.values()
    }

    def check(i: int) -> Verdict | None:
        digest = digests[i]
        lic = issued.get(digest) if digest else None
        key = public_keys.get(lic.key.kid) if lic is not None else None
        if lic is None or key is None:
            return None
        document = verify_as_issued(
            tokens[i], kid=lic.key.kid, public_key=key, license_id=lic.license_id
        )
        if document is None:
            return None
        return Verdict(
            kid=lic.key.kid,
            key_status=lic.key.status,
            document=document,
            license_id=lic.license_id,
        )

    return parallel_map(check, len(tokens))


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


@lru_cache(maxsize=1024)  # licenses with the same facts share one answer on a given day
def _status_at(lic: _Issued, today: date) -> str:
    return license_status(
        revoked=lic.revoked,
        on_hold=lic.on_hold,
        voice_status=lic.voice_status,
        valid_from=lic.valid_from,
        valid_until=lic.valid_until,
        key=lic.key,
        log_index=lic.log_index,
        today=today,
    )


_KEY_REFUSALS = {License.Status.KEY_COMPROMISED, License.Status.KEY_RETIRED}

_STATUS_DETAIL: dict[str, str] = {
    License.Status.REVOKED: "the license was revoked",
    License.Status.EXPIRED: "the license's term has ended",
    License.Status.NOT_YET_VALID: "the license's term has not begun",
    License.Status.SUSPENDED: (
        "the license is suspended: its voice is not live, or its payment is disputed, "
        "refunded or overdue"
    ),
}


def _status_detail(status: str, lic: _Issued) -> str:
    if status in _KEY_REFUSALS:
        return judge_key_status(lic.key, lic.log_index).detail
    return _STATUS_DETAIL[status]


def license_verdict(token: str) -> dict[str, Any]:
    """One license verified, with the verdict in plain words for the /verify/ page."""
    verdict = verify_licenses([token])[0]
    return {
        "verdict": verdict,
        "words": WORDS.get(verdict.reason or "", verdict.detail),
        "document": verdict.document,
    }
