"""May this work be recorded under this license? Licensing's one answer, which royalties
asks for every work: the license's status (its key, revocation, holds, the voice, the
term), the signed terms the work must fall within, and the signed caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from licensing import terms
from licensing.models import License

# A license's status -> why no work may be recorded under it.
_BY_STATUS: dict[str, str] = {
    License.Status.KEY_COMPROMISED: "key_compromised",
    License.Status.KEY_RETIRED: "key_retired_before_logging",
    License.Status.REVOKED: "license_revoked",
    License.Status.SUSPENDED: "license_suspended",
    License.Status.EXPIRED: "license_expired",
    License.Status.NOT_YET_VALID: "license_not_yet_valid",
}


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str


@dataclass(frozen=True)
class WorkFacts:
    """What a work says about itself that its license's terms speak to."""

    use: str
    territory: str
    language: str
    medium: str
    duration_ms: int
    # The registry measured the duration from the audio itself; False when the brand
    # declared it (the safe default: a measured_only license refuses it).
    measured: bool = False


class WorkPermission:
    """Answers for one request: a bulk request asks about the same few licenses and
    terms many times, so each license's status and each combination of terms is
    judged once (on one day, against one snapshot of the license rows)."""

    def __init__(self, today: date, now: datetime | None = None) -> None:
        self.today = today
        self.now = now or timezone.now()
        self._terms: dict[tuple[str, str, str, str, str], Refusal | None] = {}

    def refusal(
        self, lic: License, work: WorkFacts, *, works_used: int, milliseconds_used: int
    ) -> Refusal | None:
        """Why ``work`` may not be recorded under ``lic``, given what the license has
        used so far, or None when it may."""
        key = (lic.license_id, work.use, work.territory, work.language, work.medium)
        if key not in self._terms:
            self._terms[key] = self._terms_refusal(lic, work)
        found = self._terms[key]
        if found is not None:
            return found
        signed = lic.document["terms"]
        # Licenses signed before the term existed lack it: they never required it.
        if signed.get("measured_only") is True and not work.measured:
            return Refusal(
                "measured_audio_required",
                "the license requires works recorded with their audio, which the registry "
                "measures: send the audio file instead of a declared duration",
            )
        max_works, max_seconds = signed.get("max_works"), signed.get("max_seconds")
        if max_works is not None and works_used + 1 > int(max_works):
            return Refusal("works_cap_exceeded", f"the license allows {max_works} works")
        if (
            max_seconds is not None
            and milliseconds_used + work.duration_ms > int(max_seconds) * 1000
        ):
            return Refusal("seconds_cap_exceeded", f"the license allows {max_seconds} seconds")
        return None

    def _terms_refusal(self, lic: License, work: WorkFacts) -> Refusal | None:
        status = lic.status_at(self.today)
        if status in _BY_STATUS:
            return Refusal(_BY_STATUS[status], _status_detail(lic, status))
        consent_ends = lic.voice.consent_expires_at
        if consent_ends is not None and consent_ends <= self.now:
            return Refusal(
                "consent_expired",
                f"the voice's consent ended at {consent_ends.isoformat()}; nothing is recorded "
                "with it until the performer's side renews it",
            )
        signed = lic.document["terms"]
        if work.use not in signed["uses"]:
            return Refusal(
                "use_not_licensed", f"{work.use!r} is not among {', '.join(signed['uses'])}"
            )
        if terms.territories_cover(signed["territories"], [work.territory.upper()]):
            return Refusal(
                "territory_not_licensed",
                f"{work.territory!r} is not among {', '.join(signed['territories'])}",
            )
        if not terms.language_covered(signed["languages"], work.language):
            return Refusal(
                "language_not_licensed",
                f"{work.language!r} is not among {', '.join(signed['languages'])}",
            )
        if work.medium not in signed["media"]:
            return Refusal(
                "medium_not_licensed",
                f"{work.medium!r} is not among {', '.join(signed['media'])}",
            )
        return None


def _status_detail(lic: License, status: str) -> str:
    if status == License.Status.REVOKED:
        return "the license was revoked"
    if status == License.Status.SUSPENDED:
        return "the license is suspended (the voice is not live, or its payment is in question)"
    if status == License.Status.EXPIRED:
        return f"the license ended on {lic.valid_until}"
    if status == License.Status.NOT_YET_VALID:
        return f"the license starts on {lic.valid_from}"
    return "the license's signing key no longer vouches for it"
