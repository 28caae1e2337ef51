"""Stamping a work's audio with content credentials, and reading them back.

A stamp is a C2PA manifest embedded in the file: a ``c2pa.actions`` assertion saying
the audio was created by a trained algorithm (synthetic audio must say so), and an
``org.timbre.license`` assertion naming the license, the work, the voice and performer,
the work's signed receipt and its log index, and the SHA-256 of the audio as recorded.
The manifest's hard binding covers the stamped bytes; the assertion names the original
hash, so both the file and the registry's records lead to the work.

Before it signs, the registry measures the audio (``registry.audio``) and refuses a file
whose recorded duration is not what it plays (beyond the larger of 100 ms and 1%): a
stamp vouches for the work as recorded, and per-second royalties were priced on that
duration.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from credentials import identity
from licensing.models import License
from registry.audio import disagreement, duration_ms
from registry.models import Brand, User
from royalties.models import Work, WorkStamp
from verifier import audio

_SIGN_SETTINGS = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    "builder": {"thumbnail": {"enabled": False}},
}


class ContentMismatch(ValidationError):
    pass


class DurationMismatch(ValidationError):
    pass


def _manifest(work: Work, mime: str) -> dict[str, Any]:
    lic: License = work.license
    voice = lic.voice
    return {
        "claim_generator_info": [{"name": "Timbre", "version": "1"}],
        "title": work.title or work.client_ref,
        "format": mime,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": audio.TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": f"{voice.display_name} (licensed voice)"},
                        }
                    ]
                },
            },
            {
                "label": audio.TIMBRE_ASSERTION,
                "data": {
                    "registry": settings.TIMBRE_ORIGIN,
                    "license_id": lic.license_id,
                    "work_id": work.work_id,
                    "voice": {"id": str(voice.pk), "name": voice.display_name},
                    "performer": {
                        "id": str(voice.performer_id),
                        "name": voice.performer.stage_name,
                    },
                    "content_sha256": work.content_sha256,
                    "receipt": work.receipt,
                    "log_index": str(work.log_index),
                    "disclosure": lic.document["terms"].get("disclosure", ""),
                },
            },
        ],
    }


def _sign(manifest: dict[str, Any], mime: str, data: bytes) -> bytes:
    import c2pa

    signer_identity = identity.current()
    key = signer_identity.key
    signer = c2pa.Signer.from_callback(
        lambda payload: key.sign(payload),
        c2pa.C2paSigningAlg.ED25519,
        signer_identity.chain_pem,
        settings.TIMBRE_C2PA_TSA_URL,
    )
    try:
        builder = c2pa.Builder(manifest, context=c2pa.Context.from_dict(_SIGN_SETTINGS))
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(data), out)
    finally:
        signer.close()
    return out.getvalue()


def stamp(*, actor: User | None, brand: Brand, work_id: str, data: bytes) -> tuple[bytes, str]:
    """The recorded work's audio with its content credentials embedded, and its MIME type.

    Refused (and nothing kept) unless the audio is exactly what was recorded, and plays
    for the duration it was recorded with."""
    import c2pa

    work = (
        Work.objects.select_related("license__voice__performer")
        .filter(work_id=work_id, brand=brand)
        .first()
    )
    if work is None:
        raise PermissionDenied("No work of yours has this id.")
    if work.voided_at is not None:
        raise ValidationError({"work": ["This work was voided; it cannot be stamped."]})
    if not data:
        raise ValidationError({"audio": ["Send the work's audio as the request body."]})
    if len(data) > settings.TIMBRE_MAX_STAMP_BYTES:
        raise ValidationError(
            {"audio": [f"The file is larger than {settings.TIMBRE_MAX_STAMP_BYTES} bytes."]},
            code="too_large",
        )
    mime = audio.sniff(data[:65536])
    if mime is None:
        raise ValidationError(
            {"audio": ["This is not a WAV, MP3, FLAC or M4A file."]}, code="unsupported"
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != work.content_sha256:
        raise ContentMismatch(
            {
                "audio": [
                    f"This audio's SHA-256 is {digest}, but work {work.work_id} was recorded "
                    f"with {work.content_sha256}: stamp the exact audio you recorded."
                ]
            },
            code="content_mismatch",
        )
    _check_duration(work, data)
    try:
        stamped = _sign(_manifest(work, mime), mime, data)
    except c2pa.C2paError as exc:
        raise ValidationError(
            {"audio": [f"The file could not be stamped: {str(exc)[:200]}"]}, code="unsupported"
        ) from exc
    with transaction.atomic():
        # The work's row lock orders this with a void (work_void takes the same lock, and
        # reads whether a stamp exists under it): a void that committed while the audio
        # was being signed wins, and no stamped copy leaves; one that comes after sees
        # this stamp, and does not give the cap slot back.
        locked = Work.objects.select_for_update(of=("self",)).get(pk=work.pk)
        if locked.voided_at is not None:
            raise ValidationError({"work": ["This work was voided; it cannot be stamped."]})
        WorkStamp.objects.get_or_create(
            stamped_sha256=hashlib.sha256(stamped).hexdigest(),
            defaults={"work": work, "format": mime, "stamped_by": actor},
        )
    return stamped, mime


def _check_duration(work: Work, data: bytes) -> None:
    measured = duration_ms(data)
    if measured is None:
        # Refused, not stamped unmeasured: a stamp would vouch for a duration nobody
        # checked, which is what measuring at the stamp exists to stop.
        raise ValidationError(
            {
                "audio": [
                    "The registry could not measure how long this audio plays (it is damaged, "
                    "or holds no sound), and it stamps only audio whose duration it has "
                    "checked against the work's."
                ]
            },
            code="unmeasurable",
        )
    why = disagreement(
        measured_ms=measured,
        declared_ms=work.duration_ms,
        declared_as=f"work {work.work_id} was recorded as",
    )
    if why is not None:
        raise DurationMismatch(
            {
                "audio": [
                    f"{why}. Record the work again with its audio "
                    "(the registry then measures it), and void this one while you still can."
                ]
            },
            code="duration_mismatch",
        )


def read(data: bytes) -> audio.AudioReport:
    """Judge a file's credentials against this registry's root."""
    return audio.read(data, identity.current().root_pem)
