"""Schemathesis hooks for Timbre's schema: audio request bodies are sent as raw bytes,
as application/octet-stream bodies are (schemathesis knows no serializer for audio/*)."""

from __future__ import annotations

import schemathesis

schemathesis.serializer.alias(
    ["audio/wav", "audio/mpeg", "audio/flac", "audio/mp4"], "application/octet-stream"
)
