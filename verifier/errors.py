"""The one exception family every verification failure belongs to.

Callers (the Django API, the offline CLI) need two things from a failure: a stable
machine-readable ``code`` they can map to an RFC 9457 problem ``type`` or test
against, and a human sentence that says what exactly is wrong. The code is the
contract; the message may be reworded.
"""

from __future__ import annotations


class VerificationError(Exception):
    """Raised when an input fails verification or is malformed.

    ``code`` is dotted, ``<area>.<reason>`` (``"merkle.index_out_of_range"``,
    ``"note.unknown_key"``, ``"jws.bad_signature"``), and stays stable across
    releases so that API clients and tests can rely on it.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class JSONError(VerificationError):
    """Untrusted JSON that is not strict I-JSON (RFC 7493) — codes ``json.*``."""


class MerkleError(VerificationError):
    """A Merkle proof that does not verify, or a request for an impossible proof
    (``merkle.*``). Proof *generation* raises it too, so that a server asked for a
    proof of index 10 in a tree of 5 can answer 4xx with the same reason."""


class NoteError(VerificationError):
    """A C2SP signed note, or a note key, that is malformed or unverified (``note.*``)."""


class CheckpointError(VerificationError):
    """A C2SP tlog-checkpoint body that is malformed or for the wrong log (``checkpoint.*``)."""


class JWSError(VerificationError):
    """A JWS compact token (or JWK) that is malformed or does not verify (``jws.*``)."""
