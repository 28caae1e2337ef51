"""The auditor's monitor against the real server: growth passes, a rewritten history fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.helpers import work_logged
from transparency import keys, services
from transparency.models import Checkpoint, LogEntry, LogHead, LogNode
from verifier.cli import main as verifier_main
from verifier.jcs import canonical_json
from verifier.merkle import frontier_append, frontier_root, leaf_hash

pytestmark = pytest.mark.django_db(transaction=True)


def append(n: int, tag: str) -> None:
    services.log_append(events=[work_logged(f"{tag}{i}") for i in range(n)])


def monitor(live_server: Any, state: Path, *extra: str) -> int:
    return verifier_main(["monitor", "--url", live_server.url, "--state", str(state), *extra])


def rewrite_history(index: int) -> None:
    """What an attacker with database access would do: change an old entry and rebuild
    every stored hash so that the server's own proofs agree with the new history."""
    forged = canonical_json(work_logged("forged"))
    LogEntry.objects.filter(index=index).update(data=forged, leaf_hash=leaf_hash(forged))
    LogNode.objects.all().delete()
    frontier: list[bytes] = []
    nodes = []
    size = 0
    for digest in LogEntry.objects.order_by("index").values_list("leaf_hash", flat=True):
        frontier, completed = frontier_append(frontier, size, bytes(digest))
        nodes += [
            LogNode(level=s.level, position=s.index, hash=s.hash) for s in completed if s.level
        ]
        size += 1
    LogNode.objects.bulk_create(nodes)
    LogHead.objects.filter(pk=1).update(
        frontier=b"".join(frontier), root_hash=frontier_root(frontier)
    )
    Checkpoint.objects.all().delete()  # the log would refuse to sign over its old checkpoints


def test_the_monitor_passes_twice_with_appends_in_between(
    live_server: Any, tmp_path: Path, capsys: Any
) -> None:
    append(10, "a")
    state = tmp_path / "state.json"
    assert monitor(live_server, state, "--verifier-key", keys.verifier_key()) == 0
    assert "size 10" in capsys.readouterr().out
    append(7, "b")
    assert monitor(live_server, state) == 0
    assert "size 17" in capsys.readouterr().out
    assert monitor(live_server, state) == 0  # nothing new: still fine


def test_a_rewritten_history_is_caught_by_the_monitor(
    live_server: Any, tmp_path: Path, capsys: Any
) -> None:
    append(12, "a")
    state = tmp_path / "state.json"
    assert monitor(live_server, state, "--verifier-key", keys.verifier_key()) == 0
    before = state.read_text()
    rewrite_history(5)
    append(3, "b")
    # The database is now self-consistent (log_audit has nothing left to compare with);
    # only someone who kept an earlier checkpoint can tell. That is the monitor's job.
    call_command("log_audit")
    capsys.readouterr()
    assert monitor(live_server, state) == 1
    assert "fork" in capsys.readouterr().err.lower()
    assert state.read_text() == before, "a failed check leaves the state as it was"


def test_the_inclusion_command_checks_an_entry_against_the_live_log(
    live_server: Any, tmp_path: Path, capsys: Any
) -> None:
    append(9, "a")
    key = keys.verifier_key()
    args = ["inclusion", "--url", live_server.url, "--verifier-key", key]
    assert verifier_main([*args, "--index", "4"]) == 0
    out = capsys.readouterr().out
    assert '"work_id": "a4"' in out or '"work_id":"a4"' in out
    own_copy = tmp_path / "entry.json"
    own_copy.write_bytes(b'{"type":"work.recorded","work_id":"not what was logged"}')
    assert verifier_main([*args, "--index", "4", "--data-file", str(own_copy)]) == 1
