"""Concurrent appends on PostgreSQL: the head row lock keeps the log gapless."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from tests.helpers import work_logged
from transparency import services
from transparency.models import LogEntry, LogHead
from verifier.merkle import root_from_leaf_hashes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 8
PER_WRITER = 1000
BATCH = 50


def test_eight_writers_append_a_thousand_entries_each_without_gaps() -> None:
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            barrier.wait()
            for start in range(0, PER_WRITER, BATCH):
                services.log_append(
                    events=[
                        work_logged(f"{number}-{start + i}", writer=str(number), seq=str(start + i))
                        for i in range(BATCH)
                    ]
                )
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors

    total = WRITERS * PER_WRITER
    indices = list(LogEntry.objects.order_by("index").values_list("index", flat=True))
    assert indices == list(range(total))
    head = LogHead.objects.get()
    assert head.size == total
    leaves = [
        bytes(h) for h in LogEntry.objects.order_by("index").values_list("leaf_hash", flat=True)
    ]
    assert bytes(head.root_hash) == root_from_leaf_hashes(leaves)
    # Each writer's entries kept their order, and no batch was split or interleaved.
    by_writer: dict[str, list[int]] = {}
    for data in LogEntry.objects.order_by("index").values_list("data", flat=True).iterator():
        event = json.loads(bytes(data))
        by_writer.setdefault(event["writer"], []).append(int(event["seq"]))
    assert all(seqs == list(range(PER_WRITER)) for seqs in by_writer.values())
    assert len(by_writer) == WRITERS
    call_command("log_audit")
