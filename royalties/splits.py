"""Who shares a voice's royalties: the performer, an agent, an estate, a union fund."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from licensing.models import License, UnionAgreement
from registry.models import Delegation, Performer, User, VoiceModel
from registry.policies import is_minor_now, require_power
from royalties.ledger import SplitBasis
from royalties.models import EstateShare, Payee, VoiceSplit
from royalties.rules import BPS


@dataclass(frozen=True)
class Share:
    kind: str
    name: str
    bps: int


@transaction.atomic
def voice_splits_set(
    *, actor: User, voice: VoiceModel, shares: Sequence[Share]
) -> list[VoiceSplit]:
    """Replace the voice's splits. They apply to works recorded from now on; what was
    already posted to the ledger stays as it was."""
    require_power(actor, voice.performer, Delegation.Power.CHANGE_SPLITS)
    performer = voice.performer
    if is_minor_now(performer):
        raise ValidationError(
            {
                "shares": [
                    f"{performer.stage_name} is a minor: the earnings are theirs (with the "
                    "Coogan set-aside held in trust) until their 18th birthday, when splits "
                    "can be set."
                ]
            }
        )
    kinds = _split_kinds(performer)
    errors: list[str] = []
    if not shares:
        errors.append("Give at least one payee.")
    for share in shares:
        if share.kind not in kinds:
            errors.append(f"{share.kind!r} is not a payee kind here ({', '.join(kinds)}).")
        if not 1 <= share.bps <= BPS:
            errors.append(f"{share.name}: a share is between 1 and 10000 basis points.")
        name = share.name.strip()
        if not name:
            errors.append("Every payee needs a name.")
        elif len(name) > 200 or "\x00" in name:
            errors.append("A payee's name is at most 200 characters, with no NUL character.")
    if sum(s.bps for s in shares) != BPS:
        total = sum(s.bps for s in shares)
        errors.append(f"Shares must add up to 100% (10000 bps); they add up to {total / 100:g}%.")
    if len({(s.kind, s.name.strip().lower()) for s in shares}) != len(shares):
        errors.append("Name each payee once.")
    if errors:
        raise ValidationError({"shares": errors})
    VoiceModel.objects.select_for_update().get(pk=voice.pk)  # one change at a time per voice
    VoiceSplit.objects.filter(voice=voice).delete()
    rows = []
    for share in shares:
        payee, _ = Payee.objects.get_or_create(
            kind=share.kind,
            name=share.name.strip(),
            performer=performer,
            defaults={"user": performer.user if share.kind == Payee.Kind.PERFORMER else None},
        )
        rows.append(VoiceSplit.objects.create(voice=voice, payee=payee, bps=share.bps))
    return rows


def _split_kinds(performer: Performer) -> tuple[str, ...]:
    """Whom a voice's royalties may be split to: the performer (their estate once they
    have died) and agents. A union's fund is paid by its agreement, never by a split."""
    own = Payee.Kind.PERFORMER if performer.is_living else Payee.Kind.ESTATE
    return (own, Payee.Kind.AGENT)


def platform_fee_bps() -> int:
    return int(settings.TIMBRE_PLATFORM_FEE_BPS)


def coogan_bps() -> int:
    return int(settings.TIMBRE_COOGAN_SET_ASIDE_BPS)


def split_basis(voice: VoiceModel) -> SplitBasis:
    """How money earned under ``voice`` splits today: the platform's fee, then the voice's
    payees (its performer alone, as performer or estate, when no split was set). While
    the performer is a minor, a share of the performer's own part (not an agent's) is set
    aside in a blocked trust account (``TIMBRE_COOGAN_SET_ASIDE_BPS``): read here, once
    per voice per use case, so that booking a batch costs no query per work."""
    performer = voice.performer
    # A minor's earnings are the minor's own (splits cannot be set while a minor).
    rows = (
        []
        if is_minor_now(performer)
        else list(VoiceSplit.objects.filter(voice=voice).select_related("payee").order_by("pk"))
    )
    if rows:
        payees = tuple((r.payee, r.bps) for r in rows)
    else:
        heirs = (
            list(
                EstateShare.objects.filter(performer=performer)
                .select_related("payee")
                .order_by("pk")
            )
            if not performer.is_living
            else []
        )
        if heirs:
            # A voice the estate registered after the death: the estate's recorded shares.
            payees = tuple((h.payee, h.bps) for h in heirs)
        else:
            # The performer's own payee (the estate's once they have died), never an
            # agent another voice's split named.
            own = Payee.Kind.PERFORMER if performer.is_living else Payee.Kind.ESTATE
            payee = Payee.objects.filter(performer=performer, kind=own).order_by("pk").first()
            if payee is None:
                payee = Payee.objects.create(
                    kind=Payee.Kind.PERFORMER if performer.is_living else Payee.Kind.ESTATE,
                    name=performer.stage_name
                    if performer.is_living
                    else f"Estate of {performer.stage_name}",
                    performer=performer,
                    user=performer.user,
                )
            payees = ((payee, BPS),)
    # A minor until the 18th birthday, to the second (the periodic task records it later).
    rate = coogan_bps() if is_minor_now(performer) else 0
    set_aside = tuple(
        (payee, rate)
        for payee, _ in payees
        if rate and payee.kind == Payee.Kind.PERFORMER and payee.performer_id == performer.pk
    )
    return SplitBasis(platform_fee_bps(), payees, set_aside)


def union_fund(agreement: UnionAgreement) -> Payee:
    """The payee an agreement's pension and health contributions are owed to: the union's
    fund, made on first use (an operator may rename it, or give it a user, in the admin)."""
    fund, _ = Payee.objects.get_or_create(
        union_agreement=agreement,
        defaults={"kind": Payee.Kind.UNION, "name": agreement.fund_name[:200]},
    )
    return fund


def license_basis(lic: License, voice_basis: SplitBasis) -> SplitBasis:
    """The split of works under ``lic``: its voice's, and, when its terms follow a union
    agreement, the union's fund credited pension and health at the rate the license
    states (the signed rate, not the agreement's today)."""
    union = lic.document["royalty"].get("union")
    if union is None:
        return voice_basis
    agreement = lic.offer_version.union_agreement
    # Signed from the version's agreement at issue, and a version never changes.
    assert agreement is not None
    return replace(
        voice_basis,
        pension_health=(union_fund(agreement), int(union["pension_health_bps"])),
    )
