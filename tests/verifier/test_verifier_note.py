"""C2SP signed notes: keys, signing, and every way a note can be refused."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.errors import NoteError
from verifier.note import (
    make_signer_key,
    make_verifier_key,
    note_key_id,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
)

# The example in golang.org/x/mod/sumdb/note's documentation, the reference
# implementation of the format. Ed25519 is deterministic, so signing the same text
# with the same key must reproduce the signature byte for byte.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
GO_NOTE = GO_TEXT + "\n\u2014 PeterNeumann " + GO_SIGNATURE + "\n"

LOG = "timbre.example/log"
log_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
log_verifier = parse_verifier_key(make_verifier_key(LOG, log_key.public_key()))
witness_key = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
WITNESS = "witness.example/w1"
witness_verifier = parse_verifier_key(make_verifier_key(WITNESS, witness_key.public_key()))

TEXT = "timbre.example/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"


def _signature_line(note: str) -> str:
    return note.rsplit("\n\n", 1)[1]


# --- the reference example --------------------------------------------------------


def test_it_reproduces_the_go_reference_note() -> None:
    signer = parse_signer_key(GO_SIGNER_KEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_id == 0xC74F20A3
    assert sign_note(GO_TEXT, signer.name, signer.private_key) == GO_NOTE
    assert make_signer_key(signer.name, signer.private_key) == GO_SIGNER_KEY
    assert str(signer.verifier()) == GO_VERIFIER_KEY


def test_it_opens_the_go_reference_note() -> None:
    assert open_note(GO_NOTE, [parse_verifier_key(GO_VERIFIER_KEY)]) == (GO_TEXT, ["PeterNeumann"])
    assert open_note(GO_NOTE.encode(), [parse_verifier_key(GO_VERIFIER_KEY)])[0] == GO_TEXT


# --- keys ---------------------------------------------------------------------------


def test_the_key_id_is_derived_from_the_name_and_key() -> None:
    assert log_verifier.key_id == note_key_id(LOG, log_key.public_key())
    assert note_key_id(LOG + "2", log_key.public_key()) != log_verifier.key_id


@pytest.mark.parametrize(
    "key",
    [
        "PeterNeumann+c74f20a3",  # no key
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong id
        "PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong name
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # 7 hex digits
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # type byte 0x02
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # short key
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=",  # bad padding
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space in name
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # empty name
    ],
)
def test_it_rejects_a_malformed_verifier_key(key: str) -> None:
    with pytest.raises(NoteError) as exc:
        parse_verifier_key(key)
    assert exc.value.code in {"note.bad_key", "note.bad_name"}


def test_it_rejects_a_signer_key_whose_id_does_not_match() -> None:
    with pytest.raises(NoteError) as exc:
        parse_signer_key(GO_SIGNER_KEY.replace("c74f20a3", "c74f20a4"))
    assert exc.value.code == "note.bad_key"


@pytest.mark.parametrize("name", ["has space", "has+plus", "tab\there", "", "nbsp\u00a0name"])
def test_it_refuses_to_sign_with_a_bad_name(name: str) -> None:
    with pytest.raises(NoteError) as exc:
        sign_note(TEXT, name, log_key)
    assert exc.value.code == "note.bad_name"


# --- opening --------------------------------------------------------------------------


def test_it_round_trips_a_signed_note() -> None:
    note = sign_note(TEXT, LOG, log_key)
    assert note.startswith(TEXT + "\n\u2014 " + LOG + " ")
    assert open_note(note, [log_verifier]) == (TEXT, [LOG])


def test_it_rejects_a_note_signed_by_an_unknown_key() -> None:
    note = sign_note(TEXT, WITNESS, witness_key)
    with pytest.raises(NoteError) as exc:
        open_note(note, [log_verifier])
    assert exc.value.code == "note.unknown_key"


def test_it_ignores_signatures_from_unknown_keys_when_a_known_one_verifies() -> None:
    note = sign_note(TEXT, LOG, log_key)
    cosigned = note + _signature_line(sign_note(TEXT, WITNESS, witness_key))
    assert open_note(cosigned, [log_verifier]) == (TEXT, [LOG])
    assert open_note(cosigned, [log_verifier, witness_verifier]) == (TEXT, [LOG, WITNESS])


def test_it_ignores_a_key_that_shares_only_the_name() -> None:
    # Spec: unknown keys are ignored "even if they share a name or ID (but not both)".
    imposter = Ed25519PrivateKey.generate()
    note = sign_note(TEXT, LOG, log_key) + _signature_line(sign_note(TEXT, LOG, imposter))
    assert open_note(note, [log_verifier]) == (TEXT, [LOG])


def test_it_rejects_a_bad_signature_from_a_known_key() -> None:
    note = sign_note(TEXT, LOG, log_key)
    forged = sign_note(TEXT.replace("\n3\n", "\n4\n"), LOG, log_key)
    tampered = note.rsplit("\n\n", 1)[0].replace("\n3\n", "\n4\n") + "\n\n" + _signature_line(note)
    with pytest.raises(NoteError) as exc:
        open_note(tampered, [log_verifier])
    assert exc.value.code == "note.bad_signature"
    # Even alongside a good signature from another trusted key.
    with pytest.raises(NoteError) as exc:
        open_note(
            TEXT
            + "\n"
            + _signature_line(sign_note(TEXT, WITNESS, witness_key))
            + _signature_line(forged),
            [log_verifier, witness_verifier],
        )
    assert exc.value.code == "note.bad_signature"


def test_it_rejects_a_signature_with_one_bit_flipped() -> None:
    note = sign_note(TEXT, LOG, log_key)
    blob = bytearray(base64.b64decode(_signature_line(note).split(" ")[2]))
    blob[10] ^= 0x01
    damaged = TEXT + "\n\u2014 " + LOG + " " + base64.b64encode(bytes(blob)).decode() + "\n"
    with pytest.raises(NoteError) as exc:
        open_note(damaged, [log_verifier])
    assert exc.value.code == "note.bad_signature"


def test_the_text_may_contain_blank_lines() -> None:
    text = "first\n\nsecond\n"
    assert open_note(sign_note(text, LOG, log_key), [log_verifier]) == (text, [LOG])


def _good() -> str:
    return sign_note(TEXT, LOG, log_key)


@pytest.mark.parametrize(
    ("mangle", "why"),
    [
        (lambda n: n.replace("\u2014", "-"), "hyphen instead of em dash"),
        (lambda n: n.replace("\u2014 ", "\u2014"), "no space after the dash"),
        (lambda n: n[:-1], "no final newline"),
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n + "\n", "trailing blank line"),
        (lambda n: n + "not a signature\n", "junk after the signatures"),
        (lambda n: n.replace("\n3\n", "\n3\r\n"), "carriage return"),
        (lambda n: n.replace("\n3\n", "\n3\x00\n"), "NUL byte"),
        (lambda n: n.rsplit(" ", 1)[0] + " \n", "empty signature"),
        (lambda n: n.rsplit(" ", 1)[0] + " !!!!\n", "signature not base64"),
        (lambda n: n.rsplit(" ", 1)[0] + " AAAA\n", "signature shorter than a key id"),
        (lambda n: n.rsplit(" ", 1)[0] + "\n", "no signature at all"),
        (lambda n: n.replace(LOG + " ", LOG + "+x "), "plus in the key name"),
        (lambda n: n.replace(LOG + " ", LOG + "\u00a0x "), "Unicode space in the key name"),
        (lambda n: n.split("\n\n")[0] + "\n", "text only"),
    ],
)
def test_it_rejects_a_malformed_note(mangle: Callable[[str], str], why: str) -> None:
    with pytest.raises(NoteError):
        open_note(mangle(_good()), [log_verifier])


def test_it_refuses_two_trusted_keys_with_the_same_name_and_id() -> None:
    twin = parse_verifier_key(make_verifier_key(LOG, log_key.public_key()))
    other = type(twin)(LOG, twin.key_id, witness_key.public_key())
    assert open_note(_good(), [log_verifier, twin]) == (TEXT, [LOG])  # same key twice is fine
    with pytest.raises(NoteError) as exc:
        open_note(_good(), [log_verifier, other])
    assert exc.value.code == "note.ambiguous_key"


def test_it_rejects_invalid_utf8() -> None:
    with pytest.raises(NoteError) as exc:
        open_note(_good().encode() + b"\xff\n", [log_verifier])
    assert exc.value.code == "note.malformed"


def test_it_rejects_an_oversized_note() -> None:
    with pytest.raises(NoteError) as exc:
        open_note("x" * 100 + "\n\n" + _signature_line(_good()), [log_verifier], max_bytes=64)
    assert exc.value.code == "note.too_large"


def test_it_rejects_a_note_with_too_many_signatures() -> None:
    other = _signature_line(sign_note(TEXT, WITNESS, witness_key))
    with pytest.raises(NoteError) as exc:
        open_note(_good() + other * 100, [log_verifier])
    assert exc.value.code == "note.too_many_signatures"


def test_it_refuses_to_sign_text_without_a_final_newline() -> None:
    with pytest.raises(NoteError) as exc:
        sign_note("no newline", LOG, log_key)
    assert exc.value.code == "note.malformed"
