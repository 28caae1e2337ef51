"""Recording a performer's death, and the estate becoming the payee from its date.

``performer_record_death`` is the operator's one action: the registry records the death
(``registry.deaths``: evidence, log event, the performer's own account stops acting),
and here the estate's payees are named and paid:

- every voice of the performer is split to the estate's payees (one estate, or heirs
  whose shares sum to 100%), so works recorded from now on are the estate's;
- works already booked on or after the date of death (a death is often recorded late)
  are moved to the estate by ``estate_transfer`` entries: per works entry, each work's
  payees' part, as it was split when booked, is taken from those payees and split
  between the heirs. The platform's fee is not touched; each entry balances, and each
  work's part is allocated on its own (largest remainder), so no minor unit is created
  or lost, and a void of such a work later moves its part back exactly
  (``estate_transfer_void``);
- the ledger is append-only and closed months are final: the transfers are booked now,
  in the open month, whatever month the works were booked in. A closed month's
  statement keeps showing what the performer's payee earned then; the next statements
  show the transfer (a part of kind ``estate_transfer``, the registry's word: the log
  records the death and each work's split, not the transfer). If the performer's payee
  was already paid out, its balance goes negative: the payout run pays nothing until it
  is settled by hand.

The transfers carry only money, no works or seconds: the works stay counted where the
log says they were split, so auditors' recomputation of every statement still holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import IO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from licensing.models import License
from registry import deaths
from registry.models import Performer, PerformerDeath, User, VoiceModel
from royalties import ledger, rules
from royalties.models import (
    Account,
    EstateShare,
    JournalEntry,
    LicenseUsage,
    Payee,
    VoiceSplit,
    Work,
)


@dataclass(frozen=True)
class Heir:
    """One of the estate's payees: the estate itself, or an heir, with a share in basis
    points and, optionally, the email of an account that may read its statements."""

    name: str
    bps: int
    email: str = ""


def _checked_heirs(heirs: Sequence[Heir]) -> list[tuple[Heir, User | None]]:
    errors: list[str] = []
    if not heirs:
        errors.append("Name the estate, or each heir with a share.")
    for heir in heirs:
        name = heir.name.strip()
        if not name:
            errors.append("Every payee needs a name.")
        elif len(name) > 200 or not name.isprintable():
            errors.append("A payee's name is at most 200 characters, with no control characters.")
        if not 1 <= heir.bps <= rules.BPS:
            errors.append(f"{heir.name}: a share is between 0.01% and 100%.")
    total = sum(h.bps for h in heirs)
    if heirs and total != rules.BPS:
        errors.append(f"Shares must add up to 100%; they add up to {total / 100:g}%.")
    if len({h.name.strip().lower() for h in heirs}) != len(heirs):
        errors.append("Name each payee once.")
    checked: list[tuple[Heir, User | None]] = []
    for heir in heirs:
        user = None
        if heir.email.strip():
            user = User.objects.filter(email__iexact=heir.email.strip()).first()
            if user is None:
                errors.append(f"{heir.name}: no account has the email {heir.email.strip()}.")
        checked.append((heir, user))
    if errors:
        raise ValidationError({"heirs": errors})
    return checked


@transaction.atomic
def performer_record_death(
    *,
    operator: User,
    performer: Performer,
    date_of_death: date,
    jurisdiction: str,
    evidence: IO[bytes],
    evidence_name: str,
    heirs: Sequence[Heir],
) -> PerformerDeath:
    """Record a death, make the estate the payee from its date, and retire the voices
    at once if the post-mortem term has already run out. Refused, whole, on any bad
    input; recording a death twice is refused."""
    if not operator.is_staff:
        raise PermissionDenied("Only an operator records a death.")
    checked = _checked_heirs(heirs)
    # The usage rows are the locks works are recorded under, taken before the log's head
    # as works_record takes them: no work books with the performer's split meanwhile.
    list(
        LicenseUsage.objects.select_for_update()
        .filter(license__voice__performer=performer)
        .order_by("license__license_id")
    )
    death = deaths.death_record(
        operator=operator,
        performer=performer,
        date_of_death=date_of_death,
        jurisdiction=jurisdiction,
        evidence=evidence,
        evidence_name=evidence_name,
    )
    shares = _estate_set(death.performer, checked)
    for voice in VoiceModel.objects.select_for_update().filter(performer=performer).order_by("pk"):
        VoiceSplit.objects.filter(voice=voice).delete()
        VoiceSplit.objects.bulk_create(
            VoiceSplit(voice=voice, payee=s.payee, bps=s.bps) for s in shares
        )
    estate_transfer(death=death)
    post_mortem_terms_end(performer=death.performer)
    return death


def _estate_set(performer: Performer, checked: list[tuple[Heir, User | None]]) -> list[EstateShare]:
    shares = []
    for heir, user in checked:
        payee, _ = Payee.objects.get_or_create(
            kind=Payee.Kind.ESTATE,
            name=heir.name.strip(),
            performer=performer,
            defaults={"user": user},
        )
        if user is not None and payee.user_id != user.pk:
            payee.user = user
            payee.save(update_fields=["user"])
        shares.append(EstateShare.objects.create(performer=performer, payee=payee, bps=heir.bps))
    return shares


_Key = tuple[str, int]  # (account kind, payee id)


def _moved(price: int, booked: ledger.SplitBasis, heirs: Sequence[EstateShare]) -> dict[_Key, int]:
    """What moving one work's payees' part to the heirs does to each account (a positive
    amount is a debit, taking from what is owed). A payee's part is what its payable was
    credited and, for a minor, what was set aside in its trust: the heirs get the whole
    share, and the trust gives back its part too (nothing counted twice)."""
    split = rules.distribute(price, fee_bps=booked.fee_bps, split_bps=[b for _, b in booked.payees])
    moved: dict[_Key, int] = defaultdict(int)
    for (payee, _), share in zip(booked.payees, split.payees, strict=True):
        aside = rules.set_aside(share, booked.aside_bps(payee))
        moved[(Account.Kind.PAYEE_PAYABLE, payee.pk)] += share - aside
        if aside:
            moved[(Account.Kind.MINOR_TRUST, payee.pk)] += aside
    for heir, share in zip(
        heirs, rules.allocate(sum(split.payees), [h.bps for h in heirs]), strict=True
    ):
        moved[(Account.Kind.PAYEE_PAYABLE, heir.payee_id)] -= share
    return moved


def _post_transfer(
    *,
    source: str,
    currency: str,
    lic: License,
    moved: dict[_Key, int],
    payees: dict[int, Payee],
    memo: str,
    reverses: JournalEntry | None = None,
) -> JournalEntry | None:
    accounts = ledger.Accounts()
    lines = []
    for (kind, pk), amount in sorted(moved.items()):
        if not amount:
            continue
        if kind == Account.Kind.PAYEE_PAYABLE:
            # The statement's set-aside moves with it: what the trust gave back.
            aside = moved.get((Account.Kind.MINOR_TRUST, pk), 0)
            lines.append(
                ledger.Line(
                    accounts.get(kind, currency, payee=payees[pk]), amount, lic, set_aside=-aside
                )
            )
        else:
            lines.append(ledger.Line(accounts.get(kind, currency, payee=payees[pk]), amount, lic))
    if not lines:
        return None
    return ledger.post(
        kind=ledger.Kind.ESTATE_TRANSFER,
        source=source,
        currency=currency,
        memo=memo,
        lines=lines,
        reverses=reverses,
    )


def estate_transfer(*, death: PerformerDeath) -> list[JournalEntry]:
    """Move to the estate's payees what works booked from the date of death earned for
    the voice's payees then. Idempotent: one entry per works entry, keyed by both."""
    heirs = list(
        EstateShare.objects.filter(performer=death.performer).select_related("payee").order_by("pk")
    )
    start = datetime.combine(death.date_of_death, time.min, tzinfo=UTC)
    booked_entries = (
        JournalEntry.objects.filter(
            kind=JournalEntry.Kind.WORKS,
            created_at__gte=start,
            works__license__voice__performer=death.performer,
        )
        .exclude(split__isnull=True)
        .distinct()
        .order_by("created_at", "pk")
    )
    posted = []
    for entry in booked_entries:
        assert entry.split is not None
        booked = ledger.SplitBasis.from_json(entry.split)
        payees = {p.pk: p for p, _ in booked.payees} | {h.payee_id: h.payee for h in heirs}
        moved: dict[_Key, int] = defaultdict(int)
        works = list(Work.objects.filter(entry=entry).select_related("license"))
        for work in works:
            if work.voided_at is None:
                for key, amount in _moved(work.price, booked, heirs).items():
                    moved[key] += amount
        transfer = _post_transfer(
            source=f"{death.pk}:{entry.pk}",
            currency=entry.currency,
            lic=works[0].license,
            moved=moved,
            payees=payees,
            memo=f"works of {entry.source} after the death: to the estate",
        )
        if transfer is not None:
            posted.append(transfer)
    return posted


def estate_transfer_void(*, work: Work) -> JournalEntry | None:
    """A work whose part was moved to the estate is voided: its void took the part back
    from the payees it was booked to, so move it back from the heirs. The caller holds
    the license's usage lock (work_void)."""
    death = PerformerDeath.objects.filter(performer__voices=work.license.voice_id).first()
    if death is None or work.entry.split is None:
        return None
    transfer = ledger.find(ledger.Kind.ESTATE_TRANSFER, f"{death.pk}:{work.entry_id}")
    if transfer is None:
        return None
    heirs = list(
        EstateShare.objects.filter(performer=death.performer).select_related("payee").order_by("pk")
    )
    booked = ledger.SplitBasis.from_json(work.entry.split)
    payees = {p.pk: p for p, _ in booked.payees} | {h.payee_id: h.payee for h in heirs}
    back = {key: -amount for key, amount in _moved(work.price, booked, heirs).items()}
    return _post_transfer(
        source=f"{death.pk}:void:{work.work_id}",
        currency=work.currency,
        lic=work.license,
        moved=back,
        payees=payees,
        memo=f"void {work.work_id}: its part back from the estate",
        reverses=transfer,
    )


def post_mortem_terms_end(*, today: date | None = None, performer: Performer | None = None) -> int:
    """Retire the voices of performers whose post-mortem term has ended, logged with
    cause ``post_mortem_term_ended``; where use continues the right (Tennessee) and the
    voice was used recently enough, the term moves on instead. Returns how many voices
    were retired. Safe to run twice: each step re-reads and locks what it changes."""
    today = today or timezone.now().date()
    ended = PerformerDeath.objects.filter(
        post_mortem_until__lt=today, performer__voices__status__in=_NOT_RETIRED
    ).distinct()
    if performer is not None:
        ended = ended.filter(performer=performer)
    retired = 0
    for death in ended.order_by("pk"):
        if death.continued_by_use_years is not None:
            last = (
                Work.objects.filter(
                    license__voice__performer_id=death.performer_id, voided_at__isnull=True
                )
                .order_by("-recorded_at")
                .values_list("recorded_at", flat=True)
                .first()
            )
            if last is not None and deaths.term_continue(
                death=death, last_use=last.date(), today=today
            ):
                continue
        retired += deaths.voices_retire_post_mortem(today=today, performer=death.performer)
    return retired


_NOT_RETIRED = [s for s in VoiceModel.Status.values if s != VoiceModel.Status.RETIRED]
