from __future__ import annotations

from celery import shared_task

from registry import audio, validation
from registry.models import VoiceModel
from registry.services import voice_sample_record_inspection


@shared_task(acks_late=True)
def voice_sample_inspect(voice_id: int) -> int | None:
    """Measure the sample's duration. Safe to run twice: it only re-derives stored facts."""
    voice = VoiceModel.objects.filter(pk=voice_id).first()
    if voice is None or not voice.sample_audio:
        return None
    with voice.sample_audio.open("rb") as fh:
        digest = validation.sha256_of(fh)
        duration = audio.duration_ms(fh)
    # If the file no longer matches the recorded digest, a newer upload will be inspected.
    voice_sample_record_inspection(voice_id=voice_id, duration_ms=duration, sha256=digest)
    return duration
