"""The transparency log: appends, proofs over HTTP, checkpoints, audit."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.helpers import work_logged
from transparency import services
from transparency.models import Checkpoint, LogEntry, LogHead, LogNode
from transparency.tasks import checkpoint_publish
from verifier.checkpoint import open_checkpoint
from verifier.jcs import canonical_json
from verifier.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from verifier.note import parse_verifier_key

pytestmark = pytest.mark.django_db


def append(n: int, start: int = 0) -> list[LogEntry]:
    return services.log_append(events=[work_logged(str(start + i)) for i in range(n)])


def b64d(value: str) -> bytes:
    return base64.b64decode(value)


def stored_leaf_hashes() -> list[bytes]:
    return [
        bytes(h) for h in LogEntry.objects.order_by("index").values_list("leaf_hash", flat=True)
    ]


def problem(response: Any, field: str) -> str:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert field in body["errors"], body
    return body["detail"]


def test_it_appends_in_order_and_keeps_the_root(client: Client) -> None:
    first = append(5)
    second = append(8, start=5)
    assert [e.index for e in first + second] == list(range(13))
    entry = LogEntry.objects.get(index=7)
    assert json.loads(bytes(entry.data))["work_id"] == "7"
    assert bytes(entry.data) == canonical_json(json.loads(bytes(entry.data)))
    assert bytes(entry.leaf_hash) == leaf_hash(bytes(entry.data))
    head = LogHead.objects.get()
    assert head.size == 13
    assert bytes(head.root_hash) == root_from_leaf_hashes(stored_leaf_hashes())
    # complete subtrees: 6 of 2, 3 of 4, 1 of 8
    assert LogNode.objects.count() == 6 + 3 + 1


def test_it_refuses_unknown_event_types() -> None:
    with pytest.raises(ValueError, match="unknown log event type"):
        services.event("voice.deleted")
    with pytest.raises(services.LogError):
        services.log_append(events=[{"type": "nope", "at": "x"}])
    assert not LogEntry.objects.exists()


def test_every_inclusion_proof_served_verifies(client: Client) -> None:
    append(37)
    leaves = stored_leaf_hashes()
    for size in (1, 2, 5, 16, 17, 37):
        root = root_from_leaf_hashes(leaves[:size])
        for index in range(size):
            body = client.get(
                "/api/v1/log/proof/inclusion", {"index": index, "tree_size": size}
            ).json()
            proof = [b64d(p) for p in body["proof"]]
            assert proof == inclusion_proof(leaves[:size], index)
            assert (body["index"], body["tree_size"]) == (index, size)
            verify_inclusion(b64d(body["leaf_hash"]), index, size, proof, root)


def test_every_consistency_proof_served_verifies(client: Client) -> None:
    append(21)
    leaves = stored_leaf_hashes()
    for second in range(1, 22):
        for first in range(1, second + 1):
            body = client.get(
                "/api/v1/log/proof/consistency", {"first": first, "second": second}
            ).json()
            proof = [b64d(p) for p in body["proof"]]
            assert proof == consistency_proof(leaves[:second], first, second)
            verify_consistency(
                first,
                second,
                proof,
                root_from_leaf_hashes(leaves[:first]),
                root_from_leaf_hashes(leaves[:second]),
            )


def test_a_proof_costs_a_few_queries_whatever_the_size(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    append(300)
    with django_assert_max_num_queries(5):
        client.get("/api/v1/log/proof/inclusion", {"index": 123, "tree_size": 299})
    with django_assert_max_num_queries(5):
        client.get("/api/v1/log/proof/consistency", {"first": 77, "second": 299})


def test_entries_are_served_with_their_data(client: Client) -> None:
    append(3)
    body = client.get("/api/v1/log/entries", {"start": 1, "end": 10}).json()
    assert [e["index"] for e in body] == [1, 2]
    assert json.loads(b64d(body[0]["data"]))["work_id"] == "1"
    assert b64d(body[0]["leaf_hash"]) == leaf_hash(b64d(body[0]["data"]))


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/log/proof/inclusion", {"tree_size": 3}, "index"),
        ("/api/v1/log/proof/inclusion", {"index": "x", "tree_size": 3}, "index"),
        ("/api/v1/log/proof/inclusion", {"index": "-1", "tree_size": 3}, "index"),
        ("/api/v1/log/proof/inclusion", {"index": 3, "tree_size": 3}, "index"),
        ("/api/v1/log/proof/inclusion", {"index": 0, "tree_size": 4}, "tree_size"),
        (
            "/api/v1/log/proof/inclusion",
            {"index": 0, "tree_size": "99999999999999999999"},
            "tree_size",
        ),
        ("/api/v1/log/proof/consistency", {"first": 0, "second": 2}, "first"),
        ("/api/v1/log/proof/consistency", {"first": 3, "second": 2}, "first"),
        ("/api/v1/log/proof/consistency", {"first": 1, "second": 9}, "second"),
        ("/api/v1/log/proof/consistency", {"first": "01", "second": 2}, "first"),
        ("/api/v1/log/entries", {"start": 5, "end": 9}, "start"),
        ("/api/v1/log/entries", {"start": 2, "end": 2}, "end"),
        ("/api/v1/log/checkpoint", {"tree_size": "abc"}, "tree_size"),
    ],
)
def test_bad_parameters_get_a_problem_naming_them(
    client: Client, url: str, params: dict[str, Any], field: str
) -> None:
    append(3)
    assert problem(client.get(url, params), field)


def test_the_checkpoint_is_signed_by_the_published_key(client: Client) -> None:
    append(4)
    key = client.get("/api/v1/log/verifier-key").content.decode().strip()
    verifier = parse_verifier_key(key)
    note = client.get("/api/v1/log/checkpoint").content.decode()
    checkpoint = open_checkpoint(note, [verifier], verifier.name)
    assert checkpoint.size == 4
    assert checkpoint.root_hash == root_from_leaf_hashes(stored_leaf_hashes())
    append(2, start=4)
    newer = open_checkpoint(
        client.get("/api/v1/log/checkpoint").content.decode(), [verifier], verifier.name
    )
    assert newer.size == 6
    old = client.get("/api/v1/log/checkpoint", {"tree_size": 4}).content.decode()
    assert old == note
    assert client.get("/api/v1/log/checkpoint", {"tree_size": 5}).status_code == 404


def test_the_private_key_is_never_served(client: Client, settings: Any) -> None:
    append(1)
    pem = settings.TIMBRE_LOG_KEY_FILE.read_text()
    secret_line = pem.splitlines()[1]
    for url in ("/api/v1/log/verifier-key", "/api/v1/log/checkpoint", "/log/"):
        assert secret_line not in client.get(url).content.decode()


def test_the_beat_task_signs_only_when_the_tree_grew() -> None:
    append(2)
    assert checkpoint_publish() == 2
    assert checkpoint_publish() == 2
    assert Checkpoint.objects.count() == 1
    append(1, start=2)
    assert checkpoint_publish() == 3
    assert list(Checkpoint.objects.values_list("tree_size", flat=True)) == [3, 2]


def test_the_log_refuses_to_sign_a_history_inconsistent_with_its_last_checkpoint() -> None:
    append(6)
    services.checkpoint_sign()
    append(3, start=6)
    # Someone rewrites a stored subtree that the next proof relies on.
    LogNode.objects.filter(level=2, position=0).update(hash=b"\x01" * 32)
    with pytest.raises(services.LogError, match="not consistent"):
        services.checkpoint_sign()
    assert Checkpoint.objects.count() == 1


def test_log_audit_passes_on_an_intact_log(capsys: Any) -> None:
    append(100)
    services.checkpoint_sign()
    call_command("log_audit")
    assert "ok, 100 entries" in capsys.readouterr().out


def test_log_audit_reports_an_entry_edited_behind_the_apps_back(capsys: Any) -> None:
    append(50)
    services.checkpoint_sign()
    forged = canonical_json(work_logged("forged"))
    LogEntry.objects.filter(index=23).update(data=forged)
    with pytest.raises(CommandError, match="first bad index 23"):
        call_command("log_audit")
    assert "entry 23" in capsys.readouterr().err


def test_log_audit_catches_data_and_hash_edited_together() -> None:
    append(50)
    services.checkpoint_sign()
    forged = canonical_json(work_logged("forged"))
    LogEntry.objects.filter(index=40).update(data=forged, leaf_hash=leaf_hash(forged))
    with pytest.raises(CommandError, match="first bad index 40"):
        call_command("log_audit")


def test_log_audit_catches_a_deleted_entry() -> None:
    append(10)
    LogEntry.objects.filter(index=4).delete()
    with pytest.raises(CommandError, match="first bad index 4"):
        call_command("log_audit")


def test_the_log_page_shows_the_checkpoint_and_an_entrys_proof(client: Client) -> None:
    append(9)
    services.checkpoint_sign()
    page = client.get("/log/").content.decode()
    assert "Latest checkpoint" in page and "work.recorded" in page
    lookup = client.get("/log/", {"index": 4}).content.decode()
    assert "Entry 4" in lookup and "&quot;work_id&quot;: &quot;4&quot;" in lookup
    assert "covers entries 0 to 8" in client.get("/log/", {"index": 9}).content.decode()
    assert "a whole number" in client.get("/log/", {"index": "four"}).content.decode()


def test_log_keygen_writes_a_private_key_readable_only_by_its_owner(tmp_path: Any) -> None:
    path = tmp_path / "k.pem"
    call_command("log_keygen", out=str(path))
    assert path.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" in path.read_text()
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("log_keygen", out=str(path))


def test_public_log_endpoints_are_rate_limited(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    append(2)
    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"public": "3/min"})
    statuses = [
        client.get("/api/v1/log/entries", {"start": 0, "end": 2}).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/v1/log/proof/inclusion", {"index": 0, "tree_size": 2})
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/rate-limited" and "Retry-After" in refused
    cache.clear()


@pytest.mark.parametrize("raw", ["¹", "٣", "1e3", " 1", "1.0", "-0"])
def test_only_ascii_decimals_are_indices(client: Client, raw: str) -> None:
    append(3)
    response = client.get("/api/v1/log/entries", {"start": raw, "end": 2})
    assert problem(response, "start")
    if raw.strip() != "1":  # the page forgives surrounding spaces
        assert "a whole number" in client.get("/log/", {"index": raw}).content.decode()


def test_the_log_refuses_a_malformed_event_and_writes_nothing() -> None:
    append(3)
    bad = {**work_logged("w1"), "duration_ms": "-1"}
    with pytest.raises(services.LogError, match="'duration_ms' is not a string of decimal"):
        services.log_append(events=[work_logged("ok"), bad])
    assert LogEntry.objects.count() == 3


def test_log_audit_flags_an_entry_that_is_not_a_wellformed_event(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    append(3)
    # An older or careless writer let an entry in that is no event the log knows.
    monkeypatch.setattr(services, "event_problem", lambda item: None)
    services.log_append(events=[{"type": "voice.deleted", "at": "2026-01-01T00:00:00.000Z"}])
    monkeypatch.undo()
    with pytest.raises(CommandError, match="first bad index 3"):
        call_command("log_audit")
    assert "entry 3: unknown event type 'voice.deleted'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "voice:-1",
        "voice:\u0663",
        "payee:\uff11",
        "voice:99999999999999999999999",
        "license:lic_01h\n",
        "license:",
        "license:lic_01h\x00",
        "person:12",
        "voice 12",
    ],
)
def test_an_oddly_shaped_subject_is_a_problem_naming_it(client: Any, subject: str) -> None:
    response = client.get("/api/v1/log/events", {"subject": subject})
    assert response.status_code == 400
    assert "subject" in response.json()["errors"]


def test_the_events_about_a_subject_are_listed_within_the_tree_size(client: Any) -> None:
    append(2)
    held = services.event("license.held", license_id="lic_01habc", hold_id="4", reason="disputed")
    services.log_append(events=[held, held])
    answer = client.get("/api/v1/log/events", {"subject": "license:lic_01habc"}).json()
    assert answer == {"subject": "license:lic_01habc", "tree_size": 4, "indices": [2, 3]}
    smaller = client.get(
        "/api/v1/log/events", {"subject": "license:lic_01habc", "tree_size": 3}
    ).json()
    assert smaller["indices"] == [2]
    beyond = client.get("/api/v1/log/events", {"subject": "license:lic_01habc", "tree_size": 5})
    assert beyond.status_code == 400 and "tree_size" in beyond.json()["errors"]
