"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

A note is a text ending in a newline, a blank line, then signature lines::

    <text>\\n
    \\n
    — <key name> <base64(4-byte key id || signature)>\\n

The signed message is the text exactly (including its final newline, excluding
the blank separator). Keys are written as in golang.org/x/mod/sumdb/note:

* verifier key: ``<name>+<8 hex digit key id>+<base64(0x01 || public key)>``
* signer key:   ``PRIVATE+KEY+<name>+<8 hex digit key id>+<base64(0x01 || seed)>``

where ``key id = SHA-256(name || 0x0A || 0x01 || public key)[:4]``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from verifier.errors import NoteError

__all__ = [
    "ED25519_SIGNATURE_TYPE",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "NoteSigner",
    "NoteVerifier",
    "make_signer_key",
    "make_verifier_key",
    "note_key_id",
    "open_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
]

ED25519_SIGNATURE_TYPE = 0x01

# The spec asks verifiers to accept at least 16 signatures, some of which may be
# post-quantum cosignatures of ~5 kB: 256 KiB leaves room for that and nothing silly.
MAX_NOTE_BYTES = 256 * 1024
MAX_SIGNATURES = 100

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space: a hyphen-minus is NOT accepted
_ED25519_SIGNATURE_SIZE = 64
_KEY_ID_SIZE = 4
_HEX_KEY_ID = re.compile(r"[0-9a-fA-F]{8}")


# --- keys -----------------------------------------------------------------------


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_name(name: str) -> None:
    # Names end at the first space in a signature line and at the first "+" in a
    # key string, so either character would make the encoding ambiguous.
    if not isinstance(name, str) or not name:
        raise NoteError("note.bad_name", "key name must be a non-empty string")
    if "+" in name or any(ch.isspace() for ch in name):
        raise NoteError("note.bad_name", f"key name {name!r} must not contain spaces or '+'")
    if any(ord(ch) < 0x20 for ch in name):
        raise NoteError("note.bad_name", f"key name {name!r} contains a control character")


def note_key_id(name: str, public_key: Ed25519PublicKey) -> int:
    """The recommended 32-bit key id: SHA-256(name || 0x0A || 0x01 || key)[:4], big-endian."""
    _check_name(name)
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ED25519_SIGNATURE_TYPE]) + _raw_public(public_key)
    ).digest()
    return int.from_bytes(digest[:_KEY_ID_SIZE], "big")


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted note key: the (name, key id) pair that signature lines refer to."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __str__(self) -> str:
        return make_verifier_key(self.name, self.public_key)


@dataclass(frozen=True)
class NoteSigner:
    name: str
    key_id: int
    private_key: Ed25519PrivateKey

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.key_id, self.private_key.public_key())


def make_verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """``<name>+<hex key id>+<base64(0x01 || public key)>``."""
    key_id = note_key_id(name, public_key)
    encoded = base64.b64encode(bytes([ED25519_SIGNATURE_TYPE]) + _raw_public(public_key)).decode()
    return f"{name}+{key_id:08x}+{encoded}"


def parse_verifier_key(text: str) -> NoteVerifier:
    """Parse a verifier key string; its key id must match its name and key."""
    # The base64 part may itself contain "+", so split at most twice: the name
    # and the hex id cannot contain one.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise NoteError("note.bad_key", "verifier key must look like <name>+<hex id>+<base64 key>")
    name, hex_id, encoded = parts
    _check_name(name)
    public_key = _public_key_from_encoded(encoded)
    return NoteVerifier(name, _check_key_id(hex_id, name, public_key), public_key)


def make_signer_key(name: str, private_key: Ed25519PrivateKey) -> str:
    """``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>``."""
    key_id = note_key_id(name, private_key.public_key())
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    encoded = base64.b64encode(bytes([ED25519_SIGNATURE_TYPE]) + seed).decode()
    return f"PRIVATE+KEY+{name}+{key_id:08x}+{encoded}"


def parse_signer_key(text: str) -> NoteSigner:
    """Parse a signer key string; its key id must match the derived public key."""
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise NoteError(
            "note.bad_key", "signer key must look like PRIVATE+KEY+<name>+<hex id>+<base64 key>"
        )
    _, _, name, hex_id, encoded = parts
    _check_name(name)
    raw = _strict_b64decode(encoded, "note.bad_key", "signer key")
    if len(raw) != 33 or raw[0] != ED25519_SIGNATURE_TYPE:
        raise NoteError("note.bad_key", "signer key is not 0x01 followed by a 32-byte Ed25519 seed")
    private_key = Ed25519PrivateKey.from_private_bytes(raw[1:])
    return NoteSigner(name, _check_key_id(hex_id, name, private_key.public_key()), private_key)


def _public_key_from_encoded(encoded: str) -> Ed25519PublicKey:
    raw = _strict_b64decode(encoded, "note.bad_key", "verifier key")
    if len(raw) != 33 or raw[0] != ED25519_SIGNATURE_TYPE:
        raise NoteError(
            "note.bad_key", "verifier key is not 0x01 followed by a 32-byte Ed25519 key"
        )
    try:
        return Ed25519PublicKey.from_public_bytes(raw[1:])
    except ValueError as exc:
        raise NoteError("note.bad_key", "verifier key is not a valid Ed25519 public key") from exc


def _check_key_id(hex_id: str, name: str, public_key: Ed25519PublicKey) -> int:
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise NoteError("note.bad_key", f"key id {hex_id!r} is not 8 hex digits")
    key_id = int(hex_id, 16)
    # The id is derived, not chosen: a mismatch means the name or key was altered.
    if key_id != note_key_id(name, public_key):
        raise NoteError(
            "note.bad_key", f"key id {hex_id} does not match the key name and public key"
        )
    return key_id


def _strict_b64decode(text: str, code: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise NoteError(code, f"{what} is not valid base64") from exc
    # Non-zero padding bits decode fine but give a second spelling of the same bytes.
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(code, f"{what} is not canonical base64")
    return raw


# --- signing and opening -----------------------------------------------------------


def _check_text(text: str, code: str, what: str) -> None:
    for position, ch in enumerate(text):
        if ord(ch) < 0x20 and ch != "\n":
            raise NoteError(
                code, f"{what} contains control character U+{ord(ch):04X} at {position}"
            )
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise NoteError(code, f"{what} contains a lone surrogate at {position}")


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``text`` (which must end in a newline) and return the whole note."""
    if not text.endswith("\n"):
        raise NoteError("note.malformed", "note text must end with a newline")
    _check_text(text, "note.malformed", "note text")
    _check_name(name)
    key_id = note_key_id(name, private_key.public_key())
    signature = private_key.sign(text.encode("utf-8"))
    encoded = base64.b64encode(key_id.to_bytes(_KEY_ID_SIZE, "big") + signature).decode()
    return f"{text}\n{_SIGNATURE_PREFIX}{name} {encoded}\n"


def open_note(
    note: str | bytes, verifiers: Iterable[NoteVerifier], *, max_bytes: int = MAX_NOTE_BYTES
) -> tuple[str, list[str]]:
    """Verify a signed note against trusted keys; return ``(text, signer names)``.

    Per the spec, signature lines from keys not in ``verifiers`` are ignored, a
    signature by a known key that fails to verify rejects the whole note, and at
    least one known key must have signed. The signer names are those of the
    known keys whose signatures verified, in order, without repeats.
    """
    text_all = _decode_note(note, max_bytes)
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if slot in known and known[slot].public_key != verifier.public_key:
            # Two keys behind one (name, id) cannot be told apart in a signature line.
            raise NoteError(
                "note.ambiguous_key", f"two verifier keys share name {verifier.name!r} and id"
            )
        known[slot] = verifier

    _check_text(text_all, "note.malformed", "note")
    # The text ends at the LAST blank line: the text may contain blank lines,
    # signature lines cannot.
    split = text_all.rfind("\n\n")
    if split < 0:
        raise NoteError("note.malformed", "note has no blank line before its signatures")
    text, signature_block = text_all[: split + 1], text_all[split + 2 :]
    if not signature_block or not signature_block.endswith("\n"):
        raise NoteError(
            "note.malformed", "note must end with at least one newline-terminated signature line"
        )
    message = text.encode("utf-8")

    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(
            "note.too_many_signatures",
            f"note has {len(lines)} signatures; the limit is {MAX_SIGNATURES}",
        )
    signers: list[str] = []
    for number, line in enumerate(lines, start=1):
        name, key_id, signature = _parse_signature_line(line, number)
        trusted = known.get((name, key_id))
        if trusted is None:
            continue  # someone else's key (a witness, a rotated-out key): not ours to judge
        if len(signature) != _ED25519_SIGNATURE_SIZE or not trusted.verify(message, signature):
            raise NoteError(
                "note.bad_signature", f"signature by {name} (key {key_id:08x}) does not verify"
            )
        if name not in signers:  # one name may sign with two keys during a rotation
            signers.append(name)
    if not signers:
        raise NoteError("note.unknown_key", "note is not signed by any known key")
    return text, signers


def _decode_note(note: str | bytes, max_bytes: int) -> str:
    if isinstance(note, str):
        size = len(note.encode("utf-8", errors="surrogatepass"))
        if size > max_bytes:
            raise NoteError("note.too_large", f"note is {size} bytes; the limit is {max_bytes}")
        return note
    raw = bytes(note)
    # Check the size before decoding, so that a huge body costs nothing more.
    if len(raw) > max_bytes:
        raise NoteError("note.too_large", f"note is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("note.malformed", f"note is not valid UTF-8 (byte {exc.start})") from exc


def _parse_signature_line(line: str, number: int) -> tuple[str, int, bytes]:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError(
            "note.malformed", f"signature line {number} does not start with an em dash and a space"
        )
    name, sep, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not encoded:
        raise NoteError(
            "note.malformed", f"signature line {number} has no signature after the key name"
        )
    _check_name(name)
    blob = _strict_b64decode(encoded, "note.malformed", f"signature on line {number}")
    if len(blob) <= _KEY_ID_SIZE:
        raise NoteError("note.malformed", f"signature on line {number} is too short")
    return name, int.from_bytes(blob[:_KEY_ID_SIZE], "big"), blob[_KEY_ID_SIZE:]
