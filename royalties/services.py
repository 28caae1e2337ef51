"""Recording works: check against the license, price, post to the ledger, receipt, log.

A bulk request is a handful of transactions' worth of work, not one per work: licenses'
usage rows are locked once (in license-id order, so concurrent requests never deadlock),
the log gets one batch append, each license one journal entry, rows are bulk-inserted.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from core.money import MAX_AMOUNT
from licensing.ids import new_id
from licensing.keys import active_signer
from licensing.models import License
from licensing.permission import WorkFacts, WorkPermission
from registry import audio, validation
from registry.models import Brand
from royalties import advance, estates, ledger, rules
from royalties.models import (
    Account,
    JournalEntry,
    Work,
    WorkAttempt,
)
from royalties.selectors import month_closed
from royalties.splits import license_basis, split_basis
from transparency.services import event, log_append, rfc3339
from verifier.documents import receipt_document
from verifier.jws import TYP_RECEIPT, Signer

MAX_BULK = 10_000
VOID_WINDOW = timedelta(hours=24)
MAX_DURATION_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class WorkInput:
    license_id: str
    client_ref: str
    content_sha256: str
    duration_ms: int
    language: str
    territory: str
    use: str
    medium: str
    title: str = ""
    characters: int | None = None
    declared_revenue: int = 0
    # The registry hashed and measured the audio itself (work_audio_measure); otherwise
    # the hash and the duration are the brand's word, and the work says "declared".
    measured: bool = False


@dataclass(frozen=True)
class MeasuredAudio:
    content_sha256: str
    duration_ms: int


def work_audio_measure(
    *, data: IO[bytes], declared_sha256: str | None = None, declared_ms: int | None = None
) -> MeasuredAudio:
    """Hash and measure a work's audio, for recording it as a measured work (the caller
    has checked its size). Refused, naming the field, when the file is empty, is not
    audio the registry can measure, plays longer than a work may, or when the brand also
    declared a hash or a duration that disagrees with the file's (a duration within the
    tolerance of ``registry.audio`` agrees; the work is priced on the measured one)."""
    digest = validation.sha256_of(data)
    data.seek(0)
    if not data.read(1):
        raise ValidationError({"audio": ["The file is empty."]})
    data.seek(0)
    if audio.kind(data.read(65536)) is None:
        raise ValidationError({"audio": [f"This is not a {audio.KINDS_IN_WORDS} file."]})
    measured = audio.duration_ms(data)
    if measured is None:
        # Not measurable is refused rather than recorded as declared: the brand chose to
        # send the audio so that it would be measured, and a measured_only license needs it.
        raise ValidationError(
            {
                "audio": [
                    "The registry could not measure how long this audio plays (it is damaged, "
                    "or holds no sound): send a playable "
                    f"{audio.KINDS_IN_WORDS} file."
                ]
            }
        )
    if measured > MAX_DURATION_MS:
        raise ValidationError(
            {
                "audio": [
                    f"The audio plays for {audio.seconds(measured)}; a work is at most "
                    f"{audio.seconds(MAX_DURATION_MS)}."
                ]
            }
        )
    errors: dict[str, list[str]] = {}
    if declared_sha256 is not None and declared_sha256 != digest:
        errors["content_sha256"] = [
            f"The uploaded audio's SHA-256 is {digest}, but you declared {declared_sha256}: "
            "send one or the other, or the hash of this file."
        ]
    if declared_ms is not None:
        why = audio.disagreement(
            measured_ms=measured, declared_ms=declared_ms, declared_as="you declared"
        )
        if why is not None:
            errors["duration_ms"] = [f"{why}."]
    if errors:
        raise ValidationError(errors)
    return MeasuredAudio(content_sha256=digest, duration_ms=measured)


# The most one work may cost its brand (price and pension and health), in minor units.
MAX_WORK_CHARGE = MAX_AMOUNT


@dataclass
class Outcome:
    index: int
    status: str  # "recorded" | "rejected"
    work_id: str | None = None
    receipt: str | None = None
    log_index: int | None = None
    price: int | None = None
    currency: str | None = None
    reason: str | None = None
    detail: str = ""
    # Under a union agreement: the pension and health charged on top of the price.
    pension_health: int = 0

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.status == "recorded":
            out.update(
                work_id=self.work_id,
                receipt=self.receipt,
                log_index=self.log_index,
                price=self.price,
                currency=self.currency,
            )
            if self.pension_health:
                out["pension_health"] = self.pension_health
        else:
            out.update(reason=self.reason, detail=self.detail)
        return out


@dataclass
class _Accepted:
    item: WorkInput
    outcome: Outcome
    lic: License
    price: int
    from_advance: int
    work_id: str = field(default_factory=lambda: new_id("wrk"))


def _rates(lic: License) -> rules.Rates:
    royalty = lic.document["royalty"]
    return rules.Rates(
        per_work=int(royalty["per_work"]),
        per_second=Decimal(royalty["per_second"]),
        revenue_share_bps=int(royalty["revenue_share_bps"]),
    )


def works_record(
    *, brand: Brand, items: Sequence[WorkInput], now: datetime | None = None
) -> list[Outcome]:
    """Record works for one brand; answer per item. The caller holds the transaction.

    ``now`` is for importing history (demo data, migrations from another registry): it
    dates the works, receipts and ledger; the log always stamps its own time.
    """
    if not items:
        raise ValidationError({"works": ["Send at least one work."]})
    if len(items) > MAX_BULK:
        raise ValidationError({"works": [f"At most {MAX_BULK} works per request."]})
    now = now or timezone.now()
    today = now.date()
    outcomes = [Outcome(index=i, status="rejected") for i in range(len(items))]
    attempts: list[WorkAttempt] = []

    def reject(i: int, lic: License | None, reason: str, detail: str) -> None:
        outcomes[i].reason, outcomes[i].detail = reason, detail
        item = items[i]
        attempts.append(
            WorkAttempt(
                license=lic,
                brand=brand,
                license_ref=item.license_id[:40],
                client_ref=item.client_ref[:200],
                reason=reason,
                detail=detail[:300],
                at=now,
                payload={k: getattr(item, k) for k in WorkInput.__dataclass_fields__},
            )
        )

    wanted = sorted({item.license_id for item in items})
    licenses = {
        lic.license_id: lic
        for lic in License.objects.select_related(
            "signing_key", "voice__performer", "offer_version", "brand"
        )
        .filter(license_id__in=wanted, brand=brand)
        .order_by("license_id")
    }
    # Lock every usage row this request touches, in one fixed order (license id).
    usages = {
        license_id: advance.usage_locked(licenses[license_id]) for license_id in sorted(licenses)
    }
    seen_refs = _recorded_refs(brand, {i.client_ref for i in items})
    permission = WorkPermission(today, now)
    rates = {license_id: _rates(lic) for license_id, lic in licenses.items()}
    # The pension and health rate each license states (0 if it follows no union agreement).
    union_bps = {
        license_id: int(lic.document["royalty"].get("union", {}).get("pension_health_bps", 0))
        for license_id, lic in licenses.items()
    }
    accepted: list[_Accepted] = []
    for i, item in enumerate(items):
        lic = licenses.get(item.license_id)
        if lic is None:
            reject(i, None, "license_not_found", "no license of yours has this id")
            continue
        # Already recorded is the answer to a resent work whatever else holds now (its
        # license full, revoked since): the brand must not think it was lost.
        if item.client_ref in seen_refs:
            reject(
                i,
                lic,
                "duplicate_work",
                f"a work with your id {item.client_ref!r} is already recorded",
            )
            continue
        usage = usages[item.license_id]
        refusal = permission.refusal(
            lic,
            WorkFacts(
                item.use,
                item.territory,
                item.language,
                item.medium,
                item.duration_ms,
                measured=item.measured,
            ),
            works_used=usage.works,
            milliseconds_used=usage.milliseconds,
        )
        if refusal is not None:
            reject(i, lic, refusal.reason, refusal.detail)
            continue
        price = rules.price_work(
            rates[item.license_id],
            duration_ms=item.duration_ms,
            declared_revenue=item.declared_revenue,
        )
        rate = union_bps[item.license_id]
        pension_health = rules.pension_health(price, rate) if rate else 0
        if price + pension_health > MAX_WORK_CHARGE:
            # Sums of many such amounts would pass what a 64-bit balance holds.
            reject(
                i,
                lic,
                "price_too_large",
                f"this work would cost {price + pension_health} minor units; one work costs "
                f"at most {MAX_WORK_CHARGE} (check its duration and declared revenue)",
            )
            continue
        from_advance = advance.draw(usage, price)
        outcomes[i].pension_health = pension_health
        usage.works += 1
        usage.milliseconds += item.duration_ms
        seen_refs.add(item.client_ref)
        accepted.append(_Accepted(item, outcomes[i], lic, price, from_advance))

    if attempts:
        WorkAttempt.objects.bulk_create(attempts)
    if not accepted:
        return outcomes

    # Each voice's split is read once, and each license's (its union's fund, if its
    # terms follow an agreement), before logging: the log says how each work's price was
    # split, so an auditor can recompute every payee's statement from it.
    voice_bases: dict[int, ledger.SplitBasis] = {}
    bases: dict[str, ledger.SplitBasis] = {}
    for a in accepted:
        if a.lic.license_id not in bases:
            if a.lic.voice_id not in voice_bases:
                voice_bases[a.lic.voice_id] = split_basis(a.lic.voice)
            bases[a.lic.license_id] = license_basis(a.lic, voice_bases[a.lic.voice_id])
    entries = log_append(
        events=[
            event(
                "work.recorded",
                work_id=a.work_id,
                license_id=a.lic.license_id,
                content_sha256=a.item.content_sha256,
                duration_ms=str(a.item.duration_ms),
                measured=a.item.measured,
                declared_revenue=str(a.item.declared_revenue),
                price=str(a.price),
                from_advance=str(a.from_advance),
                split=bases[a.lic.license_id].to_log(),
            )
            for a in accepted
        ]
    )
    signing_key, private_key = active_signer()
    signer = Signer(private_key, signing_key.kid, TYP_RECEIPT)
    recorded_at = rfc3339(now)
    by_license: dict[str, list[_Accepted]] = defaultdict(list)
    for a, entry in zip(accepted, entries, strict=True):
        a.outcome.log_index = entry.index
        a.outcome.receipt = signer.sign(
            receipt_document(
                work_id=a.work_id,
                license_id=a.lic.license_id,
                content_sha256=a.item.content_sha256,
                duration_ms=a.item.duration_ms,
                duration_measured=a.item.measured,
                recorded_at=recorded_at,
                log_index=entry.index,
            )
        )
        by_license[a.lic.license_id].append(a)

    batch = new_id("bat")
    accounts = ledger.Accounts()
    journal = {
        lid: _post_batch(batch, group, now, accounts, bases) for lid, group in by_license.items()
    }
    rows = []
    for a in accepted:
        currency = a.lic.document["royalty"]["currency"]
        a.outcome.status, a.outcome.work_id, a.outcome.price, a.outcome.currency = (
            "recorded",
            a.work_id,
            a.price,
            currency,
        )
        item = a.item
        rows.append(
            (
                a.work_id,
                a.lic.pk,
                brand.pk,
                item.client_ref,
                item.content_sha256,
                item.duration_ms,
                item.measured,
                item.characters,
                item.language,
                item.territory.upper(),
                item.use,
                item.medium,
                item.title,
                item.declared_revenue,
                currency,
                a.price,
                a.from_advance,
                now,
                a.outcome.log_index,
                a.outcome.receipt,
                journal[a.lic.license_id].pk,
            )
        )
    _insert_works(rows)
    for license_id in by_license:
        usage = usages[license_id]
        usage.save(update_fields=["works", "milliseconds", "advance_left"])
    return outcomes


def _recorded_refs(brand: Brand, refs: set[str]) -> set[str]:
    """Which of these client refs the brand already recorded."""
    if connection.vendor == "postgresql":
        # One array parameter: an IN list of 10,000 parameters costs more to build than to run.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT client_ref FROM royalties_work "
                "WHERE brand_id = %s AND client_ref = ANY(%s)",
                [brand.pk, list(refs)],
            )
            return {ref for (ref,) in cursor.fetchall()}
    return set(
        Work.objects.filter(brand=brand, client_ref__in=refs).values_list("client_ref", flat=True)
    )


# The Work columns works_record fills, in the order of its rows; the others keep defaults.
_WORK_FIELDS = (
    "work_id",
    "license",
    "brand",
    "client_ref",
    "content_sha256",
    "duration_ms",
    "measured",
    "characters",
    "language",
    "territory",
    "use",
    "medium",
    "title",
    "declared_revenue",
    "currency",
    "price",
    "from_advance",
    "recorded_at",
    "log_index",
    "receipt",
    "entry",
)


def _work_attname_column(name: str) -> tuple[str, str]:
    model_field = Work._meta.get_field(name)
    # Each of _WORK_FIELDS is one of Work's own columns, never a relation's other side.
    assert isinstance(model_field, Field) and model_field.column is not None
    return model_field.attname, model_field.column


def _insert_works(rows: list[tuple[Any, ...]]) -> None:
    if connection.vendor == "postgresql":
        # COPY, as the log does: several times faster than INSERT for thousands of rows,
        # and no model instance is built per work.
        columns = ", ".join(_work_attname_column(name)[1] for name in _WORK_FIELDS)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {Work._meta.db_table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    attnames = [_work_attname_column(name)[0] for name in _WORK_FIELDS]
    Work.objects.bulk_create(
        [Work(**dict(zip(attnames, row, strict=True))) for row in rows], batch_size=1000
    )


def _post_batch(
    batch: str,
    group: list[_Accepted],
    at: datetime,
    accounts: ledger.Accounts,
    bases: dict[str, ledger.SplitBasis],
) -> JournalEntry:
    """One entry per license per request: the advance, then the brand, pays; the
    platform and the payees earn each work's price, split work by work; under a union
    agreement the brand also owes, and the union's fund earns, the pension and health
    on top of each price."""
    lic = group[0].lic
    currency = lic.document["royalty"]["currency"]
    basis = bases[lic.license_id]
    prices = [a.price for a in group]
    from_advance = sum(a.from_advance for a in group)
    lines = [
        ledger.Line(accounts.get(Account.Kind.ADVANCE, currency, license=lic), from_advance, lic),
        ledger.Line(
            accounts.get(Account.Kind.BRAND_RECEIVABLE, currency, brand=lic.brand),
            sum(prices) - from_advance,
            lic,
        ),
        *ledger.split_lines(
            prices,
            basis=basis,
            currency=currency,
            lic=lic,
            accounts=accounts,
            works=len(group),
            milliseconds=sum(a.item.duration_ms for a in group),
            recouped=from_advance,
        ),
        *ledger.pension_health_lines(
            prices,
            basis=basis,
            currency=currency,
            lic=lic,
            accounts=accounts,
            works=len(group),
            milliseconds=sum(a.item.duration_ms for a in group),
            recouped=from_advance,
        ),
    ]
    return ledger.post(
        kind=ledger.Kind.WORKS,
        source=f"{batch}:{lic.license_id}",
        currency=currency,
        memo=f"{len(group)} works under {lic.license_id}",
        lines=lines,
        at=at,
        split=basis,
    )


@transaction.atomic
def work_void(*, brand: Brand, work_id: str, actor: Any = None) -> Work:
    """Void a work: the exact negation of what recording it booked, and its part of the
    advance goes to the works after it. The rules (README, "Voiding a work"):

    - only within 24 hours of recording, and only while its month is open (a closed
      month's statements are final);
    - the void is logged, naming the work and its receipt's hash, so every verdict on the
      work or a stamped copy says "voided", offline too;
    - its cap slot comes back only if the registry never stamped its audio: a stamped
      copy carries registry-signed credentials that may already be in circulation.
    """
    work = (
        Work.objects.select_related("license__voice", "entry")
        .filter(work_id=work_id, brand=brand)
        .first()
    )
    if work is None:
        raise PermissionDenied("No work of yours has this id.")
    # The usage row is the license's lock, taken first as every writer of its works does;
    # then the work's own row only (never the license's: holds and revocations take that).
    usage = advance.usage_locked(work.license)
    work = (
        Work.objects.select_for_update(of=("self",))
        .select_related("license__voice", "entry")
        .get(pk=work.pk)
    )
    if work.voided_at is not None:
        raise ValidationError({"work": ["This work is already void."]})
    now = timezone.now()
    if now - work.recorded_at > VOID_WINDOW:
        raise ValidationError({"work": ["Works can be voided within 24 hours of recording only."]})
    if month_closed(work.recorded_at.date()):
        raise ValidationError(
            {
                "work": [
                    f"Works of {work.recorded_at:%B %Y} can no longer be voided: the month is "
                    "closed and its statements are final."
                ]
            }
        )
    stamped = work.stamps.exists()
    lic = work.license
    currency = work.currency
    accounts = ledger.Accounts()
    paid_by = [
        ledger.Line(
            accounts.get(Account.Kind.ADVANCE, currency, license=lic), work.from_advance, lic
        ),
        ledger.Line(
            accounts.get(Account.Kind.BRAND_RECEIVABLE, currency, brand=brand),
            work.price - work.from_advance,
            lic,
        ),
    ]
    reversal = [line.negated() for line in paid_by] + _earning_taken_back(work, accounts)
    entry = ledger.post(
        kind=ledger.Kind.WORK_VOID,
        source=work.work_id,
        currency=currency,
        memo=f"void {work.work_id}",
        lines=reversal,
        reverses=work.entry,
        at=now,
    )
    if not stamped:
        usage.works -= 1
        usage.milliseconds -= work.duration_ms
        usage.save(update_fields=["works", "milliseconds"])
    logged = log_append(
        events=[
            event(
                "work.voided",
                work_id=work.work_id,
                license_id=lic.license_id,
                recorded_index=str(work.log_index),
                receipt_sha256=hashlib.sha256(work.receipt.encode("ascii")).hexdigest(),
                content_sha256=work.content_sha256,
                slot_returned=not stamped,
            )
        ]
    )[0]
    work.voided_at = now
    work.void_entry = entry
    work.void_log_index = logged.index
    work.save(update_fields=["voided_at", "void_entry", "void_log_index"])
    advance.void_work(usage, work, at=now)
    estates.estate_transfer_void(work=work)
    return work


def _earning_taken_back(work: Work, accounts: ledger.Accounts) -> list[ledger.Line]:
    """The platform's and the payees' lines that take a voided work's earning back out:
    the negation of its own part of the entry that booked it, split as it was then
    (splits and the fee may have changed since)."""
    lic = work.license
    booked = work.entry.split
    if booked:
        basis = ledger.SplitBasis.from_json(booked)
        earned = [
            *ledger.split_lines(
                [work.price],
                basis=basis,
                currency=work.currency,
                lic=lic,
                accounts=accounts,
                works=1,
                milliseconds=work.duration_ms,
                recouped=work.from_advance,
            ),
            # The union's pension and health on the work, owed by the brand: back too.
            *ledger.pension_health_lines(
                [work.price],
                basis=basis,
                currency=work.currency,
                lic=lic,
                accounts=accounts,
                works=1,
                milliseconds=work.duration_ms,
                recouped=work.from_advance,
            ),
        ]
        return [line.negated() for line in earned]
    # Booked before entries kept their split (one split for a whole batch): take the
    # work's price back from the entry's own legs, in proportion to what each got.
    legs = list(
        work.entry.postings.filter(
            account__kind__in=[Account.Kind.PLATFORM_REVENUE, Account.Kind.PAYEE_PAYABLE]
        )
        .select_related("account")
        .order_by("pk")
    )
    return [
        replace(line, works=-1, milliseconds=-work.duration_ms, recouped=-work.from_advance)
        if line.account.kind == Account.Kind.PAYEE_PAYABLE
        else line
        for line in ledger.split_taken_back(legs, before=0, after=work.price, lic=lic)
    ]
