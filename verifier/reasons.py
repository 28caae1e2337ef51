"""The one vocabulary of verification failures, shared by the registry's API, its pages
and the offline CLI: a stable machine-readable reason, and what it means in words."""

from __future__ import annotations

__all__ = ["WORDS", "reason_for_jws_error"]

# JWSError codes -> the public reason.
_JWS = {
    "jws.bad_alg": "alg_not_allowed",
    "jws.bad_signature": "bad_signature",
    "jws.unknown_kid": "unknown_key",
    "jws.missing_kid": "unknown_key",
    "jws.wrong_typ": "wrong_type",
    "jws.too_large": "too_large",
}


def reason_for_jws_error(code: str) -> str:
    """The reason reported for a JWSError's code; anything else is ``malformed``."""
    return _JWS.get(code, "malformed")


# Each reason in words, for people reading a verdict (the /verify/ page, the CLI).
WORDS = {
    "bad_signature": "The signature does not match: it was altered, or never signed by us.",
    "unknown_key": "It was signed with a key this registry does not know.",
    "key_compromised": "Its signing key was compromised before this license was logged.",
    "key_retired_before_logging": "Its signing key was retired before this license was logged.",
    "revoked": "It was genuinely issued, but it has been revoked.",
    "expired": "It was genuinely issued, but its term has ended.",
    "not_yet_valid": "It was genuinely issued, but its term has not begun.",
    "suspended": (
        "It was genuinely issued, but it is suspended: the voice is not live, or the "
        "payment for it is disputed, refunded or overdue."
    ),
    "malformed": "This is not a well-formed license.",
    "alg_not_allowed": "It uses a signature algorithm we never use (only EdDSA is valid).",
    "wrong_type": "This is a signed document, but not a license.",
    "unknown_license": "It is signed with our key but this registry never issued it.",
    "too_large": "This is far too large to be a license.",
}
