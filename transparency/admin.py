from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from transparency.models import Checkpoint, LogEntry


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    list_display = ["index", "event_type", "created_at"]
    list_filter = ["event_type"]


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "created_at"]
