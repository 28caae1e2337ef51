"""A performer's death: recorded by an operator with evidence, and the post-mortem term
that follows it.

The rules (README, "Estates"):

- Only staff record a death, once: a second record is refused, not merged. A performer
  whom a representative added as already late has no record until an operator makes
  one, and no post-mortem term runs for them until then.
- The date of death is not in the future, and not before the performer's own last act
  in the registry (a consent the performer's own account gave: they were alive then).
  It may be before the voice was registered: an estate may model a late performer's
  voice from archive recordings.
- The jurisdiction is an ISO 3166-1 alpha-2 country (``GB``) or a subdivision the
  settings table names (``US-CA``); its term comes from ``TIMBRE_POST_MORTEM_YEARS``,
  else ``TIMBRE_POST_MORTEM_DEFAULT_YEARS``, and is kept with the death. Where use
  continues the right (``TIMBRE_POST_MORTEM_CONTINUED_BY_USE``: Tennessee), a term that
  has run moves on to that many years after the voice's last use, while that is ahead
  (``term_continue``, logged ``performer.term_continued``).
- The evidence is a PDF, PNG or JPEG (sniffed, not trusted by name), at most
  ``TIMBRE_MAX_EVIDENCE_BYTES``; its SHA-256 is kept; the file is stored under a random
  name and never served to the public.
- The log says ``performer.died`` with the performer's id, the date and the jurisdiction:
  no names and nothing of the evidence.

The performer's own account stops acting for the voice at once (``registry.policies``);
the estate's executor, with an operator-verified authority, consents and acts.
"""

from __future__ import annotations

import re
from datetime import date
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_countries import countries

from registry import validation
from registry.models import ConsentRecord, Performer, PerformerDeath, User, VoiceModel
from registry.services import voice_retire_for_cause
from transparency.services import event, log_append_one

_JURISDICTION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?\Z")
EARLIEST_DEATH = date(1900, 1, 1)
POST_MORTEM_CAUSE = "post_mortem_term_ended"


def jurisdiction_code(value: str) -> str:
    """A jurisdiction's code in canonical case; ValidationError names what is wrong."""
    code = value.strip().upper()
    if not _JURISDICTION.match(code):
        raise ValidationError(
            {"jurisdiction": [f"{value!r} is not a jurisdiction code (e.g. US-CA, GB, FR)."]}
        )
    country = code[:2]
    if country not in dict(countries):
        raise ValidationError({"jurisdiction": [f"{country} is not an ISO 3166 country code."]})
    if "-" in code and code not in settings.TIMBRE_POST_MORTEM_YEARS:
        known = sorted(c for c in settings.TIMBRE_POST_MORTEM_YEARS if c.startswith(country + "-"))
        raise ValidationError(
            {
                "jurisdiction": [
                    f"{code} is not a jurisdiction the registry knows a post-mortem term for"
                    + (f" (known in {country}: {', '.join(known)})" if known else "")
                    + f"; give one of those, or the country, {country}."
                ]
            }
        )
    return code


def post_mortem_years(jurisdiction: str) -> int:
    return int(
        settings.TIMBRE_POST_MORTEM_YEARS.get(
            jurisdiction, settings.TIMBRE_POST_MORTEM_DEFAULT_YEARS
        )
    )


def years_after(day: date, years: int) -> date:
    """The anniversary ``years`` on; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def post_mortem_until(performer: Performer) -> date | None:
    """The last day the estate's right in the voice runs, or None for a living performer.

    The one owner of the rule: license requests and issuance refuse terms past it, and
    ``voices_retire_post_mortem`` retires the voices after it."""
    death = PerformerDeath.objects.filter(performer=performer).only("post_mortem_until").first()
    return None if death is None else death.post_mortem_until


def _last_own_act(performer: Performer) -> date | None:
    """The day of the performer's own last act here: a consent their own account gave."""
    if performer.user_id is None:
        return None
    given = (
        ConsentRecord.objects.filter(voice__performer=performer, given_by_id=performer.user_id)
        .order_by("-given_at")
        .values_list("given_at", flat=True)
        .first()
    )
    return None if given is None else timezone.localdate(given)


def check_date_of_death(performer: Performer, date_of_death: date) -> None:
    today = timezone.now().date()
    if date_of_death > today:
        raise ValidationError({"date_of_death": ["The date of death is in the future."]})
    if date_of_death < EARLIEST_DEATH:
        raise ValidationError({"date_of_death": [f"Give a date after {EARLIEST_DEATH}."]})
    own = _last_own_act(performer)
    if own is not None and date_of_death < own:
        raise ValidationError(
            {
                "date_of_death": [
                    f"The performer consented here with their own account on {own}; the date "
                    "of death cannot be before it."
                ]
            }
        )


@transaction.atomic
def death_record(
    *,
    operator: User,
    performer: Performer,
    date_of_death: date,
    jurisdiction: str,
    evidence: IO[bytes],
    evidence_name: str,
) -> PerformerDeath:
    """Record the death (the registry's part: the record, the performer's state and the
    log). ``royalties.estates.performer_record_death`` calls it and pays the estate."""
    if not operator.is_staff:
        raise PermissionDenied("Only an operator records a death.")
    # The performer's row guards "recorded once": two operators at once take turns here.
    performer = Performer.objects.select_for_update().get(pk=performer.pk)
    # A performer a representative added as late (no record yet) may have it recorded now.
    if PerformerDeath.objects.filter(performer=performer).exists():
        raise ValidationError(
            {"performer": [f"The death of {performer.stage_name} is already recorded."]}
        )
    code = jurisdiction_code(jurisdiction)
    check_date_of_death(performer, date_of_death)
    content_type, digest = validation.upload(
        evidence,
        field="evidence",
        max_bytes=settings.TIMBRE_MAX_EVIDENCE_BYTES,
        kinds=validation.EVIDENCE_TYPES,
        sniff=validation.sniff_evidence,
    )
    years = post_mortem_years(code)
    death = PerformerDeath(
        performer=performer,
        date_of_death=date_of_death,
        jurisdiction=code,
        post_mortem_years=years,
        post_mortem_until=years_after(date_of_death, years),
        continued_by_use_years=settings.TIMBRE_POST_MORTEM_CONTINUED_BY_USE.get(code),
        evidence_content_type=content_type,
        evidence_sha256=digest,
        recorded_by=operator,
    )
    death.evidence.save(evidence_name or "evidence", File(evidence), save=False)
    try:
        with transaction.atomic():
            death.save()
    except IntegrityError as exc:
        raise ValidationError({"performer": ["This death is already recorded."]}) from exc
    # A late performer is no minor (the table's constraint): a guardian's authority ends,
    # and the estate's executor acts from now on.
    performer.is_living = False
    performer.is_minor = False
    performer.save(update_fields=["is_living", "is_minor"])
    entry = log_append_one(
        item=event(
            "performer.died",
            performer_id=str(performer.pk),
            date_of_death=date_of_death.isoformat(),
            jurisdiction=code,
            post_mortem_until=death.post_mortem_until.isoformat(),
        )
    )
    death.log_index = entry.index
    death.save(update_fields=["log_index"])
    return death


@transaction.atomic
def term_continue(*, death: PerformerDeath, last_use: date, today: date) -> bool:
    """Where use continues the right (``continued_by_use_years``), move the end of a term
    that has run to ``continued_by_use_years`` after the voice's last use, if that is
    not yet past; logged as ``performer.term_continued``. Returns whether it moved."""
    death = PerformerDeath.objects.select_for_update().get(pk=death.pk)
    if death.continued_by_use_years is None:
        return False
    until = years_after(last_use, death.continued_by_use_years)
    if until < today or until <= death.post_mortem_until:
        return False
    death.post_mortem_until = until
    death.save(update_fields=["post_mortem_until"])
    log_append_one(
        item=event(
            "performer.term_continued",
            performer_id=str(death.performer_id),
            post_mortem_until=until.isoformat(),
        )
    )
    return True


def voices_retire_post_mortem(
    *, today: date | None = None, performer: Performer | None = None
) -> int:
    """Retire every voice whose performer's post-mortem term has ended, each in its own
    transaction, logged with cause ``post_mortem_term_ended``. Safe to run twice: a
    voice is claimed under its row lock and a retired voice is left alone."""
    today = today or timezone.now().date()
    retired = 0
    due = VoiceModel.objects.filter(performer__death__post_mortem_until__lt=today).exclude(
        status=VoiceModel.Status.RETIRED
    )
    if performer is not None:
        due = due.filter(performer=performer)
    for pk in due.values_list("pk", flat=True):
        if voice_retire_for_cause(
            voice_id=pk,
            cause=POST_MORTEM_CAUSE,
            reason="the post-mortem term of the performer's estate ended",
        ):
            retired += 1
    return retired
