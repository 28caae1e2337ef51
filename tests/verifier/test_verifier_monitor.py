"""``python -m verifier monitor`` and ``inclusion --url`` against a fake log server.

The fake server is real where it matters: a Merkle log built with verifier.merkle,
checkpoints signed with verifier.note, proofs computed from whatever history it
currently holds. Each test makes it misbehave the way a compromised log would
(rewrite an entry, roll back, sign with another key, lie in a proof) and checks
that the CLI says so, with the right exit status, and leaves its state alone.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.checkpoint import format_checkpoint
from verifier.cli import main
from verifier.errors import MerkleError
from verifier.jcs import canonical_json
from verifier.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from verifier.note import make_verifier_key, sign_note

REPO = Path(__file__).resolve().parents[2]

ORIGIN = "timbre.test/log"
log_key = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
mallory_key = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
KEY = make_verifier_key(ORIGIN, log_key.public_key())
MALLORY_KEY = make_verifier_key(ORIGIN, mallory_key.public_key())


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def recorded(work_id: str) -> dict[str, str]:
    """A well-formed work.recorded event (the monitor judges every entry's shape)."""
    return {
        "type": "work.recorded",
        "at": "2026-11-20T09:30:00.000Z",
        "work_id": work_id,
        "license_id": "lic_1",
        "content_sha256": "ab" * 32,
        "duration_ms": "1000",
    }


def event(n: int, tag: str = "a") -> bytes:
    return canonical_json(recorded(f"{tag}{n}"))


# --- the fake log ---------------------------------------------------------------------------


@dataclass
class FakeLog:
    """An honest log by default; the knobs below make it lie in one specific way."""

    leaves: list[bytes]
    url: str = ""
    signing_key: Ed25519PrivateKey = log_key
    checkpoint_origin: str = ORIGIN
    serve_size: int | None = None  # serve the checkpoint of this size instead of the latest
    tamper_note: bool = False  # alter the root line after signing
    tamper_consistency: bool = False  # flip a bit in the consistency proof
    consistency_echo: tuple[int, int] | None = None  # claim other sizes in the proof JSON
    consistency_problem: str | None = None  # refuse consistency proofs with this detail
    entry_override: bytes | None = None  # serve these bytes (hashed consistently) as the entry
    fail: tuple[int, str] | None = None  # answer every request with this problem
    content_type: str | None = None  # override the checkpoint's content type
    huge: bool = False  # a checkpoint response far above any sane size
    send_length: bool = True  # without Content-Length, HTTP/1.0 reads until close
    delay: float = 0.0
    requests: list[str] = field(default_factory=list)

    def append(self, count: int, tag: str = "b") -> None:
        start = len(self.leaves)
        self.leaves += [event(start + i, tag) for i in range(count)]

    def rewrite(self, index: int) -> None:
        """What an attacker with database access does: change an old entry, and
        rebuild everything (the fake derives every hash from the leaves anyway)."""
        self.leaves[index] = canonical_json(recorded("forged"))

    def hashes(self) -> list[bytes]:
        return [leaf_hash(data) for data in self.leaves]

    def note(self, size: int | None = None) -> str:
        size = len(self.leaves) if size is None else size
        body = format_checkpoint(
            self.checkpoint_origin, size, root_from_leaf_hashes(self.hashes()[:size])
        )
        note = sign_note(body, ORIGIN, self.signing_key)
        if self.tamper_note:
            lines = note.split("\n")
            lines[1] = str(size + 1)
            note = "\n".join(lines)
        return note

    # -- HTTP --

    def handle(self, path: str, query: dict[str, int]) -> tuple[int, str, bytes]:
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            return self.problem(*self.fail)
        size = len(self.leaves)
        if path == "/api/v1/log/checkpoint":
            if self.huge:
                return 200, "text/plain; charset=utf-8", b"x" * (2 << 20)
            wanted = query.get("tree_size", self.serve_size)
            if wanted is not None and wanted > size:
                return self.problem(404, f"No checkpoint was signed at tree size {wanted}.")
            content_type = self.content_type or "text/plain; charset=utf-8"
            return 200, content_type, self.note(wanted).encode()
        if path == "/api/v1/log/verifier-key":
            return 200, "text/plain; charset=utf-8", (KEY + "\n").encode()
        try:
            if path == "/api/v1/log/proof/consistency":
                first, second = query["first"], query["second"]
                if self.consistency_problem is not None:
                    return self.problem(400, self.consistency_problem)
                if not 0 < first <= second <= size:
                    return self.problem(400, f"no consistency proof from {first} to {second}")
                proof = consistency_proof(self.hashes(), first, second)
                if self.tamper_consistency:
                    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
                first, second = self.consistency_echo or (first, second)
                body: Any = {"first": first, "second": second, "proof": [b64(h) for h in proof]}
            elif path == "/api/v1/log/proof/inclusion":
                index, tree_size = query["index"], query["tree_size"]
                if tree_size > size:
                    return self.problem(400, f"tree_size {tree_size} is beyond the log")
                proof = inclusion_proof(self.hashes(), index, tree_size)
                body = {
                    "index": index,
                    "tree_size": tree_size,
                    "leaf_hash": b64(self.hashes()[index]),
                    "proof": [b64(h) for h in proof],
                }
            elif path == "/api/v1/log/entries":
                start, end = query["start"], min(query["end"], size)
                body = []
                for index in range(start, end):
                    data = self.leaves[index]
                    if self.entry_override is not None:
                        data = self.entry_override
                    body.append(
                        {"index": index, "data": b64(data), "leaf_hash": b64(leaf_hash(data))}
                    )
            else:
                return self.problem(404, f"no such resource {path}")
        except KeyError as exc:
            return self.problem(400, f"{exc.args[0]} is required")
        except MerkleError as exc:
            return self.problem(400, exc.message)
        return 200, "application/json", json.dumps(body).encode()

    @staticmethod
    def problem(status: int, detail: str) -> tuple[int, str, bytes]:
        body = {"type": "about:blank", "title": "Error", "status": status, "detail": detail}
        return status, "application/problem+json", json.dumps(body).encode()


def _handler_for(log: FakeLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            log.requests.append(self.path)
            query = {k: int(v[0]) for k, v in parse_qs(parts.query).items()}
            status, content_type, body = log.handle(parts.path, query)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if log.send_length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                # the client hung up on an oversized answer, as it should
                pass

        def log_message(self, format: str, *args: Any) -> None:
            # keep pytest's output clean
            pass

    return Handler


_PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib honours proxy variables (as it should for auditors behind one); a
    # machine that sets them must not send the fake log's 127.0.0.1 traffic away.
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def log() -> Iterator[FakeLog]:
    fake = FakeLog([event(i) for i in range(10)])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def dead_url() -> str:
    # A port that was just free and that nothing listens on: connection refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def monitor(url: str, state: Path, *extra: str) -> int:
    return main(["monitor", "--url", url, "--state", str(state), "--timeout", "5", *extra])


def first_run(log: FakeLog, state: Path, capsys: pytest.CaptureFixture[str]) -> bytes:
    assert monitor(log.url, state, "--verifier-key", KEY) == 0, capsys.readouterr().err
    capsys.readouterr()
    return state.read_bytes()


def consistency_requests(log: FakeLog) -> list[str]:
    return [r for r in log.requests if r.startswith("/api/v1/log/proof/consistency")]


# --- pinning the key ------------------------------------------------------------------------


def test_the_first_run_without_a_key_refuses_to_trust_on_first_use(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    assert monitor(log.url, state) == 2
    err = capsys.readouterr().err
    assert "--verifier-key" in err
    assert "out of band" in err
    assert not state.exists()
    assert log.requests == [], "nothing should be fetched before a key is pinned"


def test_the_first_run_with_a_key_pins_it_and_saves_the_checkpoint(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    assert monitor(log.url, state, "--verifier-key", KEY + "\n") == 0
    out, err = capsys.readouterr()
    root = b64(root_from_leaf_hashes(log.hashes()))
    assert out == f"ok: {ORIGIN} size 10 root {root} (grew by 10; 10 events checked)\n"
    assert err == ""
    saved = json.loads(state.read_text())
    assert saved["verifier_key"] == KEY
    assert saved["origin"] == ORIGIN
    assert saved["tree_size"] == 10
    assert saved["root_hash"] == root
    assert saved["checkpoint"] == log.note()
    assert saved["checked_at"].endswith("Z")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"], "no temp file left"


def test_a_different_key_on_a_later_run_is_refused(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    assert monitor(log.url, state, "--verifier-key", MALLORY_KEY) != 0
    assert "pinned key differs" in capsys.readouterr().err
    assert state.read_bytes() == before
    # Repeating the pinned key is fine (a cron line may always pass it).
    assert monitor(log.url, state, "--verifier-key", KEY) == 0


def test_a_different_origin_on_a_later_run_is_refused(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    assert monitor(log.url, state, "--origin", "other.test/log") == 2
    assert "differs from the origin" in capsys.readouterr().err
    assert state.read_bytes() == before


def test_a_malformed_key_is_a_usage_error(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert monitor(log.url, tmp_path / "s.json", "--verifier-key", "not-a-key") == 2
    assert "not a note verifier key" in capsys.readouterr().err


def test_an_origin_other_than_the_key_name_must_be_given_explicitly(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log.checkpoint_origin = "timbre.test/log-2"
    state = tmp_path / "state.json"
    assert monitor(log.url, state, "--verifier-key", KEY) == 1
    assert "invalid: checkpoint.wrong_origin" in capsys.readouterr().err
    assert not state.exists()
    assert monitor(log.url, state, "--verifier-key", KEY, "--origin", "timbre.test/log-2") == 0
    assert json.loads(state.read_text())["origin"] == "timbre.test/log-2"


# --- an honest log ----------------------------------------------------------------------------


def test_two_runs_with_appends_in_between_pass(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    first_run(log, state, capsys)
    log.append(7)
    assert monitor(log.url, state) == 0
    assert capsys.readouterr().out.startswith(f"ok: {ORIGIN} size 17 root ")
    assert consistency_requests(log) == ["/api/v1/log/proof/consistency?first=10&second=17"]
    log.append(1)
    assert monitor(log.url, state) == 0
    assert capsys.readouterr().out.endswith("(grew by 1; 1 events checked)\n")
    assert log.requests[-1] == "/api/v1/log/entries?start=17&end=18", "only the new entry"
    assert json.loads(state.read_text())["tree_size"] == 18
    # Nothing new: still fine, and no proof is needed for equal trees.
    assert monitor(log.url, state) == 0
    assert capsys.readouterr().out.endswith("(grew by 0; 0 events checked)\n")
    assert len(consistency_requests(log)) == 2


def test_growth_through_many_tree_shapes_passes(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Powers of two, one past and one short of them: the shapes where consistency
    # proofs differ (seeded with the old root or not, ragged right edges).
    log.leaves = log.leaves[:1]
    state = tmp_path / "state.json"
    first_run(log, state, capsys)
    for size in (2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100):
        log.append(size - len(log.leaves))
        assert monitor(log.url, state) == 0, (size, capsys.readouterr().err)
        assert f"size {size} " in capsys.readouterr().out


def test_an_empty_log_then_growth_needs_no_proof(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log.leaves = []
    state = tmp_path / "state.json"
    assert monitor(log.url, state, "--verifier-key", KEY) == 0
    assert (
        capsys.readouterr().out
        == f"ok: {ORIGIN} size 0 root {b64(EMPTY_ROOT)} (grew by 0; 0 events checked)\n"
    )
    log.append(3)
    assert monitor(log.url, state) == 0
    assert "size 3 " in capsys.readouterr().out
    assert consistency_requests(log) == []


def test_a_changed_entry_the_monitor_never_saw_is_not_a_fork(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The control for the fork tests: only what was covered by a seen checkpoint is fixed.
    state = tmp_path / "state.json"
    first_run(log, state, capsys)
    log.append(5)
    log.rewrite(12)
    assert monitor(log.url, state) == 0


# --- a log that misbehaves ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old_size", "new_size", "rewritten"),
    [(10, 13, 0), (10, 13, 5), (10, 13, 9), (8, 9, 7), (8, 16, 3), (7, 8, 6), (1, 2, 0)],
)
def test_a_rewritten_history_is_a_fork(
    log: FakeLog,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old_size: int,
    new_size: int,
    rewritten: int,
) -> None:
    log.leaves = log.leaves[:old_size]
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.rewrite(rewritten)
    log.append(new_size - old_size)
    assert monitor(log.url, state) == 1
    err = capsys.readouterr().err
    assert err.startswith("invalid: log.fork: the new checkpoint is not an extension")
    assert "fork: the new checkpoint is not an extension of the one seen before" in err
    assert "merkle.root_mismatch" in err
    # Both signed checkpoints are printed: together they prove the log lied.
    assert json.loads(before)["checkpoint"] in err
    assert log.note() in err
    assert state.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_rewritten_history_of_the_same_size_is_a_fork(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.rewrite(3)
    assert monitor(log.url, state) == 1
    err = capsys.readouterr().err
    assert "invalid: log.fork: two checkpoints of size 10 with different roots" in err
    assert state.read_bytes() == before


def test_a_log_that_shrank_is_a_rollback(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.serve_size = 6  # an old, genuinely signed checkpoint
    assert monitor(log.url, state) == 1
    err = capsys.readouterr().err
    assert "invalid: log.rollback: log shrank from 10 to 6" in err
    assert "rollback: log shrank from 10 to 6" in err
    assert state.read_bytes() == before


def test_a_tampered_consistency_proof_is_a_fork(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.append(6)
    log.tamper_consistency = True
    assert monitor(log.url, state) == 1
    assert "invalid: log.fork: the new checkpoint is not an extension" in capsys.readouterr().err
    assert state.read_bytes() == before
    # The same log with an honest proof passes: the failure was the proof, nothing else.
    log.tamper_consistency = False
    assert monitor(log.url, state) == 0


def test_a_proof_for_other_sizes_than_asked_is_refused(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.append(6)
    log.consistency_echo = (10, 15)
    assert monitor(log.url, state) == 1
    err = capsys.readouterr().err
    assert "merkle.proof_mismatch" in err
    assert "from 10 to 16, got one from 10 to 15" in err
    assert state.read_bytes() == before


def test_a_checkpoint_signed_by_another_key_is_refused(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.append(2)
    log.signing_key = mallory_key
    assert monitor(log.url, state) == 1
    err = capsys.readouterr().err
    assert "invalid: note.unknown_key: bad signature:" in err
    assert state.read_bytes() == before


def test_a_checkpoint_whose_text_was_altered_after_signing_is_refused(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.tamper_note = True
    assert monitor(log.url, state) == 1
    assert "invalid: note.bad_signature: bad signature:" in capsys.readouterr().err
    assert state.read_bytes() == before


def test_the_first_run_refuses_a_checkpoint_the_pinned_key_did_not_sign(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    log.signing_key = mallory_key
    assert monitor(log.url, state, "--verifier-key", KEY) == 1
    assert "bad signature" in capsys.readouterr().err
    assert not state.exists()


# --- the state file ----------------------------------------------------------------------------


def test_a_state_file_whose_fields_disagree_with_its_checkpoint_is_refused(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    first_run(log, state, capsys)
    edited = json.loads(state.read_text())
    edited["tree_size"] = 3  # e.g. someone "resetting" the monitor by hand
    state.write_text(json.dumps(edited))
    before = state.read_bytes()
    log.append(1)
    assert monitor(log.url, state) == 2
    assert "is corrupt" in capsys.readouterr().err
    assert state.read_bytes() == before


def test_a_state_file_that_is_not_json_is_refused(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text("")
    assert monitor(log.url, state, "--verifier-key", KEY) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert state.read_text() == ""


def test_an_unwritable_state_directory_is_an_error(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert monitor(log.url, tmp_path / "missing" / "state.json", "--verifier-key", KEY) == 2
    assert "cannot write state file" in capsys.readouterr().err


# --- network trouble ------------------------------------------------------------------------------


def test_a_server_that_is_down_is_an_error_not_a_verdict(
    dead_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert monitor(dead_url, tmp_path / "s.json", "--verifier-key", KEY) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot reach {dead_url}/api/v1/log/")


def test_an_http_error_reports_the_problem_detail(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.fail = (503, "the log is being migrated\x1b[2J")
    assert monitor(log.url, state) == 2
    err = capsys.readouterr().err
    assert "HTTP 503" in err
    assert "the log is being migrated" in err
    assert "\x1b" not in err, "server text must not reach the terminal raw"
    assert state.read_bytes() == before


def test_a_failed_consistency_request_is_an_error_and_keeps_the_state(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.append(3)
    log.consistency_problem = "first: no checkpoint at that size"
    # A log that will not prove consistency has not proven a fork either: the
    # monitor cannot tell, says so (exit 2), and will ask again next time.
    assert monitor(log.url, state) == 2
    assert "first: no checkpoint at that size" in capsys.readouterr().err
    assert state.read_bytes() == before


def test_an_html_page_instead_of_a_checkpoint_is_an_error(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log.content_type = "text/html; charset=utf-8"
    assert monitor(log.url, tmp_path / "s.json", "--verifier-key", KEY) == 2
    assert "content type text/html" in capsys.readouterr().err


@pytest.mark.parametrize("send_length", [True, False])
def test_an_oversized_response_is_cut_off(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str], send_length: bool
) -> None:
    log.huge = True
    log.send_length = send_length  # refused up front, or after reading one byte too many
    assert monitor(log.url, tmp_path / "s.json", "--verifier-key", KEY) == 2
    assert "exceeds the limit of 1048576 bytes" in capsys.readouterr().err


def test_a_slow_server_times_out(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log.delay = 1.0
    args = ["monitor", "--url", log.url, "--state", str(tmp_path / "s.json")]
    assert main([*args, "--verifier-key", KEY, "--timeout", "0.2"]) == 2
    assert "timed out" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.test/", "127.0.0.1:8000"])
def test_only_http_urls_are_accepted(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert monitor(url, tmp_path / "s.json", "--verifier-key", KEY) == 2
    assert "must be an http:// or https:// URL" in capsys.readouterr().err


def test_a_base_url_with_a_trailing_slash_works(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert monitor(log.url + "/", tmp_path / "s.json", "--verifier-key", KEY) == 0
    assert log.requests == ["/api/v1/log/checkpoint", "/api/v1/log/entries?start=0&end=10"]


# --- inclusion --url ------------------------------------------------------------------------------


def inclusion(log: FakeLog, index: int, *extra: str) -> int:
    return main(["inclusion", "--url", log.url, "--index", str(index), *extra])


def test_inclusion_online_fetches_and_proves_the_entry(
    log: FakeLog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert inclusion(log, 4, "--verifier-key", KEY) == 0
    out, err = capsys.readouterr()
    document, _, last = out.rstrip("\n").rpartition("\n")
    assert json.loads(document) == recorded("a4")
    assert last.startswith("ok: entry 4 is in checkpoint of size 10 ")
    assert err == ""
    assert "/api/v1/log/proof/inclusion?index=4&tree_size=10" in log.requests
    assert "/api/v1/log/entries?start=4&end=5" in log.requests


def test_inclusion_online_checks_the_users_own_copy(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "entry.json"
    mine.write_bytes(event(7))
    assert inclusion(log, 7, "--verifier-key", KEY, "--data-file", str(mine)) == 0
    assert "ok: entry 7 is in checkpoint of size 10" in capsys.readouterr().out
    assert not any(r.startswith("/api/v1/log/entries") for r in log.requests)


def test_inclusion_online_rejects_a_wrong_data_file(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "entry.json"
    mine.write_bytes(event(6))  # entry 6's bytes, presented as entry 7
    assert inclusion(log, 7, "--verifier-key", KEY, "--data-file", str(mine)) == 1
    out, err = capsys.readouterr()
    assert "invalid: merkle.proof_mismatch" in err
    assert out == ""


def test_inclusion_online_rejects_an_entry_the_server_altered(
    log: FakeLog, capsys: pytest.CaptureFixture[str]
) -> None:
    # The server's entry and its leaf_hash agree with each other, but not with the tree.
    log.entry_override = canonical_json(recorded("swapped"))
    assert inclusion(log, 4, "--verifier-key", KEY) == 1
    out, err = capsys.readouterr()
    assert "invalid: merkle.proof_mismatch" in err
    assert out == "", "unverified log data must not be printed"


def test_inclusion_online_rejects_a_checkpoint_signed_by_another_key(
    log: FakeLog, capsys: pytest.CaptureFixture[str]
) -> None:
    log.signing_key = mallory_key
    assert inclusion(log, 4, "--verifier-key", KEY) == 1
    assert "bad signature" in capsys.readouterr().err


def test_inclusion_online_with_state_uses_the_pinned_key_and_checks_for_forks(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    before = first_run(log, state, capsys)
    log.append(3)
    assert inclusion(log, 11, "--state", str(state)) == 0
    out = capsys.readouterr().out
    assert "ok: entry 11 is in checkpoint of size 13" in out
    assert "extends size 10" in out
    assert state.read_bytes() == before, "inclusion does not move the monitor's anchor"
    log.rewrite(2)
    assert inclusion(log, 11, "--state", str(state)) == 1
    assert "invalid: log.fork" in capsys.readouterr().err


def test_inclusion_online_of_an_entry_beyond_the_checkpoint_is_invalid(
    log: FakeLog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert inclusion(log, 10, "--verifier-key", KEY) == 1
    assert "invalid: merkle.index_out_of_range" in capsys.readouterr().err


def test_inclusion_online_needs_a_key(log: FakeLog, capsys: pytest.CaptureFixture[str]) -> None:
    assert inclusion(log, 4) == 2
    assert "out of band" in capsys.readouterr().err
    assert log.requests == []


def test_inclusion_online_does_not_mix_with_file_arguments(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert inclusion(log, 4, "--verifier-key", KEY, "--checkpoint", str(tmp_path / "c")) == 2
    assert "cannot be combined with --url" in capsys.readouterr().err


def test_inclusion_offline_still_names_its_missing_files(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["inclusion", "--index", "1", "--verifier-key", KEY, "--origin", ORIGIN]) == 2
    assert "--leaf-file, --checkpoint, --proof" in capsys.readouterr().err


# --- the real entry point ------------------------------------------------------------------------


def test_monitor_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["monitor", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    assert "0  the check passed" in out
    assert "out of band" in out


def test_python_dash_m_verifier_monitor_runs_as_a_subprocess(log: FakeLog, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    command = [sys.executable, "-m", "verifier", "monitor", "--url", log.url, "--state", str(state)]
    result = subprocess.run(
        [*command, "--verifier-key", KEY], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {ORIGIN} size 10 ")
    log.rewrite(0)
    log.append(1)
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "fork" in result.stderr


# --- the monitor reads every entry ---------------------------------------------------------


def test_entries_that_do_not_make_the_signed_tree_are_caught(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    first_run(log, state, capsys)
    log.append(3)
    log.entry_override = event(99, "swapped")  # served for every entry, hashed to match
    assert monitor(log.url, state) == 1
    assert "invalid: log.entries_mismatch:" in capsys.readouterr().err
    assert json.loads(state.read_text())["tree_size"] == 10, "the state is kept"


def test_a_malformed_event_is_caught_and_an_unknown_type_only_noted(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    first_run(log, state, capsys)
    log.leaves.append(canonical_json({**recorded("x"), "type": "work.remixed"}))
    assert monitor(log.url, state) == 0
    out, err = capsys.readouterr()
    assert "1 events checked" in out and "'work.remixed', which this verifier does not" in err
    log.leaves.append(canonical_json({**recorded("y"), "duration_ms": -5}))
    assert monitor(log.url, state) == 1
    assert "invalid: log.bad_event: entry 11: work.recorded: the field 'duration_ms'" in (
        capsys.readouterr().err
    )


def test_a_state_without_a_frontier_reads_the_log_once_and_checks_its_old_root(
    log: FakeLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    first_run(log, state, capsys)
    saved = json.loads(state.read_text())
    del saved["frontier"]  # as written by a monitor before it read entries
    state.write_text(json.dumps(saved))
    log.append(2)
    assert monitor(log.url, state) == 0
    assert "12 events checked" in capsys.readouterr().out
    assert "frontier" in json.loads(state.read_text())
