"""Verified performers: a challenge sentence, the performer's evidence, the operator's word.

A performer who acts for themselves proves who they are with an identity document and a
recording of a random sentence generated here (so a recording made for something else,
or a clone's output prepared in advance, does not fit). An operator compares the
recording with the voice's sample and the document with the names, then verifies or
refuses with a reason the performer reads. Only a verified performer's voice goes live
(``services.voice_set_status``); a late performer's or a minor's stands on the verified
authority of the estate's executor or the guardian instead (``Performer.identity_standing``).

The document and the recording are personal data: they live in private storage, are
served only to the performer and operators, and never enter the log, which says only
``performer.verified`` with the performer's id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from registry import validation
from registry.models import (
    IdentityChallenge,
    IdentityVerification,
    Performer,
    User,
    name_key,
)
from transparency.services import event, log_append_one

# A challenge is read aloud soon after it is shown; an old one is replaced, not reused.
CHALLENGE_TTL = timedelta(hours=24)
REASON_MAX = 500

# Words for challenge sentences: about 20 * 30 * 30 * 30 * 24 * 20 (some 300 million)
# sentences a person can read in a few seconds, none of them prepared in advance.
_COUNTS = (
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty forty"
).split()
_ADJECTIVES = (
    "amber brave calm copper curious dusty eager gentle golden hollow honest humble "
    "lively lucky mellow misty nimble patient proud quiet rapid rusty silver sleepy "
    "sturdy swift tidy velvet violet woolen"
).split()
_NOUNS = (
    "badgers bicycles candles cellos comets crickets dolphins engines falcons ferries "
    "foxes gardens harbours kettles lanterns lemons marbles meadows otters parrots "
    "pebbles pianos rivers sailors teapots tigers trumpets tulips violins whistles"
).split()
_VERBS = (
    "borrow carry chase collect follow gather greet juggle measure mend paint polish "
    "question race rescue sketch sort steer sweep tickle trace visit wash weigh wrap "
    "admire balance count guard stack"
).split()
_OBJECTS = (
    "the bakery the blue canal the clock tower the station the orchard the museum "
    "the lighthouse the old mill the market the library the harbour wall the bridge "
    "the greenhouse the theatre the chapel the boathouse the quarry the ferry port "
    "the stable the windmill the pier the garden gate the bell tower the workshop"
).split(" the ")
_TIMES = (
    "before dawn|at noon|after supper|on Tuesday|by moonlight|in the rain|at half past "
    "four|every Sunday|before the storm|after the concert|in late autumn|at first light|"
    "on the weekend|before breakfast|at midnight|in early spring|after the match|on "
    "Friday evening|at sunset|during the parade"
).split("|")


def challenge_sentence() -> str:
    """A fresh random sentence, e.g. "Seven amber otters polish the bridge at noon."."""
    place = secrets.choice(_OBJECTS).strip()
    place = place if place.startswith("the ") else f"the {place}"
    return (
        f"{secrets.choice(_COUNTS).capitalize()} {secrets.choice(_ADJECTIVES)} "
        f"{secrets.choice(_NOUNS)} {secrets.choice(_VERBS)} {place} {secrets.choice(_TIMES)}."
    )


def _own_performer(actor: User, performer: Performer) -> None:
    # Only the performer proves their own identity: an agent cannot do it for them, and
    # a late performer or a minor stands on their representative's verified authority.
    if performer.user_id is None or performer.user_id != actor.pk:
        raise PermissionDenied("Only the performer verifies their own identity.")


@transaction.atomic
def identity_challenge_issue(*, actor: User, performer: Performer) -> IdentityChallenge:
    """The sentence to read now: the latest unused one still fresh, or a new one."""
    _own_performer(actor, performer)
    fresh = (
        IdentityChallenge.objects.filter(
            performer=performer,
            used_at__isnull=True,
            issued_at__gte=timezone.now() - CHALLENGE_TTL,
        )
        .order_by("-issued_at")
        .first()
    )
    if fresh is not None:
        return fresh
    return IdentityChallenge.objects.create(performer=performer, text=challenge_sentence())


def _delete_on_commit(files: list[FieldFile]) -> None:
    """Delete stored files once the transaction that stops referring to them commits."""
    for file in files:
        if file.name:
            transaction.on_commit(partial(file.storage.delete, file.name))


_EXTENSIONS = {
    "audio/webm": "webm",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
}


def _private_name(content_type: str) -> str:
    return f"{secrets.token_hex(16)}.{_EXTENSIONS[content_type]}"


@transaction.atomic
def identity_submit(
    *,
    actor: User,
    performer: Performer,
    challenge_id: int,
    recording: IO[bytes],
    document: IO[bytes],
) -> IdentityVerification:
    """Submit a recording of the challenge sentence and an identity document.

    The challenge is spent; a submission still waiting for an operator is replaced (and
    its files deleted), so the queue holds one per performer.
    """
    _own_performer(actor, performer)
    recording_type, recording_sha = validation.upload(
        recording,
        field="recording",
        max_bytes=settings.TIMBRE_MAX_SAMPLE_BYTES,
        kinds=validation.RECORDING_TYPES,
        sniff=validation.sniff_recording,
    )
    if recording_type == "audio/webm":
        validation.webm_audio_only(recording, field="recording")
    document_type, document_sha = validation.upload(
        document,
        field="document",
        max_bytes=settings.TIMBRE_MAX_EVIDENCE_BYTES,
        kinds=validation.EVIDENCE_TYPES,
        sniff=validation.sniff_evidence,
    )
    # Lock order: the performer, then their submissions (as identity_decide).
    performer = Performer.objects.select_for_update().get(pk=performer.pk)
    if performer.identity_verified_at is not None:
        raise ValidationError({"identity": ["Your identity is already verified."]})
    challenge = (
        IdentityChallenge.objects.select_for_update()
        .filter(pk=challenge_id, performer=performer)
        .first()
    )
    if challenge is None:
        raise ValidationError(
            {"challenge": ["Unknown challenge: record the sentence shown on the page."]}
        )
    if challenge.used_at is not None:
        raise ValidationError(
            {"challenge": ["This sentence was already used: record the new one shown."]}
        )
    if challenge.issued_at < timezone.now() - CHALLENGE_TTL:
        raise ValidationError(
            {"challenge": ["This sentence has expired: record the new one shown."]}
        )
    now = timezone.now()
    stale = list(
        performer.identity_verifications.filter(status=IdentityVerification.Status.PENDING)
    )
    _delete_on_commit([f for s in stale for f in (s.document, s.recording)])
    for old in stale:
        old.status = IdentityVerification.Status.REPLACED
        old.decided_at = now
        old.document = ""
        old.recording = ""
        old.save(update_fields=["status", "decided_at", "document", "recording"])
    challenge.used_at = now
    challenge.save(update_fields=["used_at"])
    submission = IdentityVerification(
        performer=performer,
        challenge=challenge,
        challenge_text=challenge.text,
        recording_content_type=recording_type,
        recording_sha256=recording_sha,
        document_content_type=document_type,
        document_sha256=document_sha,
        submitted_by=actor,
        submitted_at=now,
    )
    # Stored under random names: what the performer called the files (often their own
    # name) stays out of the file system, and no path can be guessed.
    submission.recording.save(_private_name(recording_type), File(recording), save=False)
    submission.document.save(_private_name(document_type), File(document), save=False)
    try:
        with transaction.atomic():
            submission.save()
    except IntegrityError as exc:  # a concurrent submission for the same challenge
        for f in (submission.recording, submission.document):
            if f.name:
                f.storage.delete(f.name)
        raise ValidationError(
            {"challenge": ["This sentence was already used: record the new one shown."]}
        ) from exc
    return submission


@transaction.atomic
def identity_decide(
    *, operator: User, submission: IdentityVerification, approve: bool, reason: str = ""
) -> IdentityVerification:
    """An operator verifies the performer's identity, or refuses with a reason the
    performer reads. Verification is logged (``performer.verified``, the id only)."""
    if not operator.is_staff:
        raise PermissionDenied("Only operators verify identities.")
    reason = reason.strip()
    if not approve and not reason:
        raise ValidationError({"reason": ["Say why, so the performer can fix it."]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [f"At most {REASON_MAX} characters."]})
    performer = Performer.objects.select_for_update().get(pk=submission.performer_id)
    locked = IdentityVerification.objects.select_for_update().get(pk=submission.pk)
    if locked.status != IdentityVerification.Status.PENDING:
        raise ValidationError(
            {"status": [f"This submission was already decided ({locked.get_status_display()})."]}
        )
    now = timezone.now()
    locked.decided_by = operator
    locked.decided_at = now
    locked.reason = reason
    if approve:
        locked.status = IdentityVerification.Status.VERIFIED
        performer.identity_verified_at = now
        performer.save(update_fields=["identity_verified_at"])
        log_append_one(item=event("performer.verified", performer_id=str(performer.pk)))
    else:
        locked.status = IdentityVerification.Status.REFUSED
    locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    return locked


# --- reads ----------------------------------------------------------------------------


def verified_namesakes(
    *, legal_name: str, stage_name: str, exclude: Performer | None = None
) -> list[Performer]:
    """Performers who stand verified (identity or authority) under the same legal or stage
    name, as registry.models.name_key compares names."""
    keys = {key for key in (name_key(legal_name), name_key(stage_name)) if key}
    if not keys:
        return []
    # Narrow in the database to names holding each key's longest word (whatever the case
    # around it), then compare the keys exactly here.
    narrow = Q()
    for key in keys:
        longest = max(key.split(), key=len)
        narrow |= Q(legal_name__icontains=longest) | Q(stage_name__icontains=longest)
    candidates = Performer.objects.filter(narrow)
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude.pk)
    return [
        p
        for p in candidates[:500]
        if {name_key(p.legal_name), name_key(p.stage_name)} & keys and p.identity_standing()
    ]


@dataclass
class IdentityStatus:
    """What a performer sees of their own verification."""

    state: str  # verified | pending | refused | unverified
    latest: IdentityVerification | None = None


def identity_status(performer: Performer) -> IdentityStatus:
    if performer.identity_verified_at is not None:
        return IdentityStatus(
            "verified",
            performer.identity_verifications.filter(
                status=IdentityVerification.Status.VERIFIED
            ).last(),
        )
    latest = (
        performer.identity_verifications.exclude(status=IdentityVerification.Status.REPLACED)
        .order_by("-submitted_at", "-id")
        .first()
    )
    if latest is None:
        return IdentityStatus("unverified")
    return IdentityStatus(str(latest.status), latest)


@dataclass
class QueueItem:
    performer: Performer
    submission: IdentityVerification | None
    namesakes: list[Performer] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.namesakes)


def identity_queue() -> tuple[list[QueueItem], list[QueueItem]]:
    """The operator's queue: pending submissions (oldest first), and sign-ups flagged as
    namesakes of a verified performer that are not verified themselves."""
    pending = (
        IdentityVerification.objects.filter(status=IdentityVerification.Status.PENDING)
        .select_related("performer__namesake_of", "performer__user")
        .prefetch_related("performer__voices")
    )
    items = []
    for submission in pending[:200]:
        performer = submission.performer
        items.append(QueueItem(performer, submission, _namesakes_of(performer)))
    flagged = (
        Performer.objects.filter(namesake_of__isnull=False, identity_verified_at__isnull=True)
        .exclude(identity_verifications__status=IdentityVerification.Status.PENDING)
        .select_related("namesake_of", "user")
        .order_by("-created_at")[:100]
    )
    others = [QueueItem(p, None, _namesakes_of(p)) for p in flagged]
    return items, others


def _namesakes_of(performer: Performer) -> list[Performer]:
    found = verified_namesakes(
        legal_name=performer.legal_name, stage_name=performer.stage_name, exclude=performer
    )
    # The namesake found at sign-up, even if it no longer matches (a name edited since).
    if performer.namesake_of is not None and performer.namesake_of not in found:
        found.append(performer.namesake_of)
    return found
