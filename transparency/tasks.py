from __future__ import annotations

from celery import shared_task

from transparency import selectors, services


@shared_task
def checkpoint_publish() -> int:
    """Beat: sign a checkpoint when the tree has grown. Safe to run twice: a second run
    finds the latest checkpoint already covering the tree and signs nothing."""
    latest = selectors.latest_checkpoint()
    if latest is not None and latest.tree_size >= selectors.load_head().size:
        return latest.tree_size
    return services.checkpoint_sign().tree_size
