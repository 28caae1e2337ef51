"""Verified brands: a brand proves control of a domain, and its legal name goes with it.

The owner states the legal name and the domain (``brand_verification_start``) and gets a
random token; publishes ``timbre-verification=<token>`` as a TXT record at
``_timbre.<domain>``; then asks the registry to look (``brand_verification_check``). The
record goes at a name of its own, not at the domain itself, so that the domain's other TXT
records are left alone and a CNAME may point it at a DNS host that allows one. Or the
owner has a link sent to an administrative address at the domain (admin@, webmaster@...)
and whoever reads it confirms (``brand_verification_email_send``, ``..._email_confirm``).

Among verified brands a legal name (whatever its case and spacing) and a domain each
belong to one brand: checked here with a clear error, and by the database's unique
constraints when two claims race. A verification is logged (``brand.verified``) and named
in every license issued afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from registry import dns_txt
from registry.domains import normalise_domain, txt_record_name, txt_record_value
from registry.models import Brand, BrandVerification, User, legal_name_key
from registry.policies import is_brand_owner
from transparency.services import event, log_append_one

TOKEN_BYTES = 20
MAX_LEGAL_NAME = 200

_OUTCOME_WORDS = {
    dns_txt.Outcome.NXDOMAIN: (
        "{name} does not exist in DNS. Add a TXT record there with the value {value} "
        "(DNS changes can take a few minutes to appear), then check again."
    ),
    dns_txt.Outcome.NO_TXT: (
        "{name} has no TXT record. Add one with the value {value}, then check again."
    ),
    dns_txt.Outcome.TIMEOUT: (
        "The DNS lookup of {name} timed out: your domain's name servers did not answer in "
        "time. Try again in a few minutes."
    ),
    dns_txt.Outcome.FAILED: (
        "The DNS lookup of {name} failed: your domain's name servers refused or could not "
        "answer. Check the domain's DNS, then try again."
    ),
}


def _owner_only(actor: User, brand: Brand) -> None:
    if not is_brand_owner(actor, brand):
        raise PermissionDenied("Only the brand's owners verify its legal name and domain.")


def _clean_legal_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({"legal_name": ["Give the brand's registered legal name."]})
    name = " ".join(value.split())
    if len(name) > MAX_LEGAL_NAME:
        raise ValidationError({"legal_name": [f"At most {MAX_LEGAL_NAME} characters."]})
    if any(not ch.isprintable() for ch in name):
        raise ValidationError({"legal_name": ["The legal name has characters that do not print."]})
    return name


def _taken(brand: Brand, *, legal_name: str, domain: str) -> dict[str, list[str]]:
    """What another brand's verification already holds of this claim."""
    others = BrandVerification.objects.filter(status=BrandVerification.Status.VERIFIED).exclude(
        brand=brand
    )
    errors: dict[str, list[str]] = {}
    if others.filter(legal_name_key=legal_name_key(legal_name)).exists():
        errors["legal_name"] = [
            "Another verified brand has this legal name. If it is yours, ask its owners; "
            "otherwise contact us."
        ]
    if others.filter(domain=domain).exists():
        errors["domain"] = ["Another brand has verified this domain."]
    return errors


@transaction.atomic
def brand_verification_start(
    *, actor: User, brand: Brand, legal_name: str, domain: str
) -> BrandVerification:
    """Claim a legal name and a domain; returns the pending claim with the TXT record to
    publish. Asking again for the same name and domain returns the same token."""
    _owner_only(actor, brand)
    errors: dict[str, list[str]] = {}
    try:
        name = _clean_legal_name(legal_name)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        name = ""
    try:
        ascii_domain = normalise_domain(domain)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        ascii_domain = ""
    if errors:
        raise ValidationError(errors)
    Brand.objects.select_for_update().get(pk=brand.pk)  # one claim of this brand at a time
    taken = _taken(brand, legal_name=name, domain=ascii_domain)
    if taken:
        raise ValidationError(taken)
    current = brand.verification()
    if current is not None and current.legal_name == name and current.domain == ascii_domain:
        raise ValidationError({"domain": ["The brand has already verified this name and domain."]})
    pending = brand.verifications.filter(status=BrandVerification.Status.PENDING).first()
    if pending is not None:
        if pending.legal_name == name and pending.domain == ascii_domain:
            return pending  # the owner may have published its token already
        pending.status = BrandVerification.Status.SUPERSEDED
        pending.save(update_fields=["status"])
    return BrandVerification.objects.create(
        brand=brand,
        legal_name=name,
        legal_name_key=legal_name_key(name),
        domain=ascii_domain,
        token=secrets.token_hex(TOKEN_BYTES),
        created_by=actor,
    )


def brand_verification_check(*, actor: User, brand: Brand) -> BrandVerification:
    """Look for the pending claim's TXT record; verify the brand when it holds the token.

    The DNS lookup runs outside any transaction (it may take seconds, and no row is locked
    meanwhile); the verification itself is one transaction (``_confirm``). A failed look is
    recorded on the claim and refused with what to do about it.
    """
    _owner_only(actor, brand)
    pending = brand.verifications.filter(status=BrandVerification.Status.PENDING).first()
    if pending is None:
        raise ValidationError(
            {"domain": ["There is nothing to check: give the legal name and domain first."]}
        )
    name, value = txt_record_name(pending.domain), txt_record_value(pending.token)
    answer = dns_txt.lookup_txt(name)
    outcome = answer.outcome.value
    if answer.outcome is dns_txt.Outcome.FOUND:
        # Exactly the value; only blanks around it are forgiven (a pasted newline).
        if value in (record.strip() for record in answer.records):
            return _confirm(pending, method=BrandVerification.Method.DNS)
        outcome = "wrong_token"
    BrandVerification.objects.filter(pk=pending.pk).update(
        last_checked_at=timezone.now(), last_outcome=outcome
    )
    if outcome == "wrong_token":
        found = ", ".join(repr(r[:80]) for r in answer.records[:3])
        raise ValidationError(
            {
                "domain": [
                    f"{name} has TXT records, but none is {value} (found: {found}). Publish "
                    "exactly this value; an older token no longer counts."
                ]
            }
        )
    raise ValidationError(
        {"domain": [_OUTCOME_WORDS[answer.outcome].format(name=name, value=value)]}
    )


# The addresses a domain's administrators read, as certificate authorities use them
# (CA/Browser Forum baseline requirements, 3.2.2.4.4): nobody else at the domain can be
# taken to speak for it.
EMAIL_MAILBOXES = ("admin", "administrator", "webmaster", "hostmaster", "postmaster")
EMAIL_LINK_LIFETIME = timedelta(days=1)
EMAIL_RESEND_AFTER = timedelta(minutes=1)


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@transaction.atomic
def brand_verification_email_send(
    *, actor: User, brand: Brand, mailbox: str, link_base: str
) -> BrandVerification:
    """Send a link to ``mailbox@<domain>`` of the pending claim; whoever reads that mailbox
    follows it to verify the brand. A new link replaces the last. ``link_base`` is the
    site's origin the link points at."""
    _owner_only(actor, brand)
    if mailbox not in EMAIL_MAILBOXES:
        raise ValidationError(
            {"mailbox": [f"Choose one of: {', '.join(m + '@' for m in EMAIL_MAILBOXES)}."]}
        )
    claim = (
        BrandVerification.objects.select_for_update()
        .filter(brand=brand, status=BrandVerification.Status.PENDING)
        .first()
    )
    if claim is None:
        raise ValidationError(
            {"domain": ["There is nothing to confirm: give the legal name and domain first."]}
        )
    now = timezone.now()
    if claim.email_sent_at is not None and now - claim.email_sent_at < EMAIL_RESEND_AFTER:
        raise ValidationError(
            {"mailbox": ["An e-mail was sent less than a minute ago; wait a moment for it."]}
        )
    secret = secrets.token_urlsafe(32)
    claim.email_sent_to = f"{mailbox}@{claim.domain}"
    claim.email_secret_sha256 = _secret_hash(secret)
    claim.email_sent_at = now
    claim.save(update_fields=["email_sent_to", "email_secret_sha256", "email_sent_at"])
    link = f"{link_base.rstrip('/')}/brands/verify-email/{claim.pk}/{secret}/"
    body = (
        f"{brand.name} asks Timbre, a registry of licensed synthetic voices, to record that "
        f"it is {claim.legal_name} and controls the domain {claim.domain_display}.\n\n"
        f"If you administer {claim.domain_display} and agree, open this link within a day "
        f"and confirm:\n\n{link}\n\nIf you do not know about this, ignore this e-mail: "
        "nothing is recorded without the confirmation."
    )
    recipient = claim.email_sent_to

    def deliver() -> None:
        send_mail(
            f"[Timbre] Confirm {claim.domain_display} for {brand.name}", body, None, [recipient]
        )

    transaction.on_commit(deliver)
    return claim


def brand_verification_email_claim(*, verification_id: int, secret: str) -> BrandVerification:
    """The pending claim a link names, if its secret is the one last sent and still fresh;
    else ValidationError saying so. Reads only: the link's page shows the claim first."""
    claim = BrandVerification.objects.select_related("brand").filter(pk=verification_id).first()
    if (
        claim is None
        or not claim.email_secret_sha256
        or not secrets.compare_digest(claim.email_secret_sha256, _secret_hash(secret))
    ):
        raise ValidationError(
            {"link": ["This link is not valid: it is mistyped, or a newer one was sent."]}
        )
    if claim.status == BrandVerification.Status.VERIFIED:
        return claim
    if claim.status != BrandVerification.Status.PENDING:
        raise ValidationError({"link": ["The brand has replaced this claim with another one."]})
    assert claim.email_sent_at is not None
    if timezone.now() - claim.email_sent_at > EMAIL_LINK_LIFETIME:
        raise ValidationError(
            {"link": ["This link has expired (after a day): the brand's owner can send another."]}
        )
    return claim


def brand_verification_email_confirm(*, verification_id: int, secret: str) -> BrandVerification:
    """Whoever reads the mailbox confirms: the claim is verified (method ``email``)."""
    claim = brand_verification_email_claim(verification_id=verification_id, secret=secret)
    return _confirm(claim, method=BrandVerification.Method.EMAIL)


def brand_verification_confirm(
    *, operator: User, verification: BrandVerification
) -> BrandVerification:
    """An operator confirms a pending claim checked by other means (demo data, a DNS host
    that cannot publish the record); logged with the method ``operator``."""
    if not operator.is_staff:
        raise PermissionDenied("Only an operator confirms a brand's claim by hand.")
    return _confirm(verification, method=BrandVerification.Method.OPERATOR)


@transaction.atomic
def _confirm(verification: BrandVerification, *, method: str) -> BrandVerification:
    """The one place a claim becomes verified: checked, the last one superseded, logged."""
    brand = Brand.objects.select_for_update().get(pk=verification.brand_id)
    claim = BrandVerification.objects.select_for_update().get(pk=verification.pk)
    if claim.status == BrandVerification.Status.VERIFIED:
        return claim
    if claim.status != BrandVerification.Status.PENDING:
        raise ValidationError(
            {"domain": ["This claim was replaced by a newer one: check that one instead."]}
        )
    taken = _taken(brand, legal_name=claim.legal_name, domain=claim.domain)
    if taken:
        raise ValidationError(taken)
    brand.verifications.filter(status=BrandVerification.Status.VERIFIED).update(
        status=BrandVerification.Status.SUPERSEDED
    )
    now = timezone.now()
    claim.status = BrandVerification.Status.VERIFIED
    claim.method = method
    claim.verified_at = claim.last_checked_at = now
    claim.last_outcome = "found" if method == BrandVerification.Method.DNS else method
    claim.email_secret_sha256 = ""  # a link, once used, is spent
    entry = log_append_one(
        item=event(
            "brand.verified",
            brand_id=str(brand.pk),
            domain=claim.domain,
            method=method,
            legal_name_sha256=hashlib.sha256(claim.legal_name.encode("utf-8")).hexdigest(),
        )
    )
    claim.log_index = entry.index
    try:
        with transaction.atomic():
            claim.save()
    except IntegrityError as exc:  # another brand verified the same name or domain just now
        raise ValidationError(
            {"domain": ["Another brand has just verified this legal name or domain."]}
        ) from exc
    return claim
