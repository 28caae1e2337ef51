"""A minor's Coogan trust: the blocked account a share of a minor performer's earnings is
set aside in (booked by royalties.ledger.split_lines to the payee's ``minor_trust``
account, which payouts never draw from), and the trust account the guardian names for
it to be paid into."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from registry.models import User
from registry.policies import consent_capacity
from royalties.models import Account, CooganTrust, Payee, Posting, TrustDeposit

__all__ = ["CooganTrust", "TrustDeposit", "TrustHolding", "coogan_trust", "coogan_trust_name"]


@transaction.atomic
def coogan_trust_name(
    *, actor: User, payee: Payee, institution: str, reference: str
) -> CooganTrust:
    """Whoever consents for the performer names the trust account a minor payee's
    set-aside is paid to: the guardian while the performer is a minor, the performer once
    an adult (an agent may not, delegation or not: it is where a child's money goes), or
    an operator. Naming it again replaces it."""
    performer = payee.performer
    allowed = actor.is_staff or (
        performer is not None and consent_capacity(actor, performer) is not None
    )
    if not allowed:
        raise PermissionDenied("Only the performer's guardian (or an operator) names the trust.")
    if payee.kind != Payee.Kind.PERFORMER or performer is None:
        raise ValidationError({"payee": ["A trust account is named for a performer's own payee."]})
    errors: dict[str, list[str]] = {}
    institution, reference = institution.strip(), reference.strip()
    if not institution or len(institution) > 200 or not institution.isprintable():
        errors["institution"] = [
            "Name the bank or trust company that holds the account (at most 200 characters, "
            "no control characters)."
        ]
    if not 4 <= len(reference) <= 100 or not reference.isprintable():
        errors["reference"] = [
            "Give the account's number or reference (4 to 100 characters, no control characters)."
        ]
    if errors:
        raise ValidationError(errors)
    trust, _ = CooganTrust.objects.update_or_create(
        payee=payee,
        defaults={
            "institution": institution,
            "reference": reference,
            "named_by": actor,
            "named_at": timezone.now(),
        },
    )
    return trust


@dataclass(frozen=True)
class TrustHolding:
    held: int  # minor units set aside so far, not yet paid into the trust
    currency: str
    trust: CooganTrust | None  # where it is paid to, once the guardian names it
    # Deposits into the trust account, newest first: made by payout runs, recorded as
    # paid by an operator (or failed, and held again).
    deposits: tuple[TrustDeposit, ...] = ()

    @property
    def deposited(self) -> int:
        return sum(d.amount for d in self.deposits if d.status == TrustDeposit.Status.PAID)

    @property
    def set_aside(self) -> int:
        """Everything set aside so far: what is held and what was paid into the trust."""
        return self.held + self.deposited


def coogan_trust(payee: Payee, currency: str) -> TrustHolding:
    held = (
        Posting.objects.filter(
            account__kind=Account.Kind.MINOR_TRUST,
            account__payee=payee,
            account__currency=currency,
        ).aggregate(t=Sum("amount"))["t"]
        or 0
    )
    return TrustHolding(
        -held,
        currency,
        CooganTrust.objects.filter(payee=payee).first(),
        tuple(
            TrustDeposit.objects.filter(payee=payee, currency=currency).order_by(
                "-month", "-created_at"
            )
        ),
    )
