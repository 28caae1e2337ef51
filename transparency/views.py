"""The public log page: latest checkpoint, recent entries, look up an entry's proof."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.parsing import parse_index
from transparency import keys, selectors


def _decoded(data: bytes | memoryview) -> Any:
    try:
        return json.loads(bytes(data))
    except ValueError:
        return None


def log_page(request: HttpRequest) -> HttpResponse:
    checkpoint = selectors.latest_checkpoint()
    head = selectors.load_head()
    lookup: dict[str, Any] | None = None
    raw_index = request.GET.get("index", "").strip()
    if raw_index:
        lookup = {"index": raw_index}
        index = parse_index(raw_index)
        if index is None:
            lookup["error"] = "Give an entry index: a whole number."
        elif checkpoint is None or index >= checkpoint.tree_size:
            size = checkpoint.tree_size if checkpoint else 0
            lookup["error"] = f"The latest checkpoint covers entries 0 to {size - 1}."
        else:
            entry = selectors.entries(index, index + 1)[0]
            proof = selectors.inclusion_proof(index, checkpoint.tree_size)
            lookup.update(
                entry=entry,
                event=json.dumps(_decoded(entry.data), indent=2, sort_keys=True),
                leaf_hash=base64.b64encode(bytes(entry.leaf_hash)).decode(),
                proof=[base64.b64encode(p).decode() for p in proof],
                tree_size=checkpoint.tree_size,
            )
    recent = [(e, _decoded(e.data)) for e in selectors.recent_entries(20)]
    return render(
        request,
        "transparency/log.html",
        {
            "checkpoint": checkpoint,
            "head": head,
            "recent": recent,
            "lookup": lookup,
            "verifier_key": keys.verifier_key(),
            "origin": keys.log_origin(),
        },
    )
