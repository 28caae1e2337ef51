from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from transparency.models import Checkpoint, LogEntry


class ReadOnly(admin.ModelAdmin):
    """The log is append-only: the admin may look, never touch."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnly):
    list_display = ["index", "event_type", "created_at"]
    list_filter = ["event_type"]


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnly):
    list_display = ["tree_size", "created_at"]
