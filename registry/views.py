"""HTML pages. Thin: parse a form, check access, call a service, render."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.forms import apply_service_errors, split_list
from registry import brand_domains, forms, identity, selectors, services
from registry.models import (
    USE_CHOICES,
    ApiKey,
    AuditGrant,
    Auditor,
    Authority,
    Brand,
    Delegation,
    Performer,
    Representative,
    VoiceModel,
)
from registry.policies import (
    can_manage_voice,
    consent_capacity,
    is_brand_owner,
    managed_performers,
    signed_in_user,
)


def catalog(request: HttpRequest) -> HttpResponse:
    filters = {
        name: request.GET.get(name, "").strip()[:100] for name in ("q", "language", "style", "use")
    }
    voices = selectors.catalog(**filters)[:200]
    return render(
        request,
        "registry/catalog.html",
        {"voices": voices, "filters": filters, "use_choices": USE_CHOICES},
    )


def voice_page(request: HttpRequest, slug: str) -> HttpResponse:
    voice = get_object_or_404(selectors.voices_visible_to(request.user), slug=slug)
    return render(
        request,
        "registry/voice.html",
        {"voice": voice, "can_manage": can_manage_voice(request.user, voice)},
    )


def voice_sample(request: HttpRequest, slug: str) -> FileResponse:
    # Operators hear a draft voice's sample beside the identity challenge recording.
    voices = (
        VoiceModel.objects.all()
        if getattr(request.user, "is_staff", False)
        else selectors.voices_visible_to(request.user)
    )
    voice = get_object_or_404(voices, slug=slug)
    if not voice.sample_audio:
        raise Http404("This voice has no sample")
    return FileResponse(voice.sample_audio.open("rb"), content_type=voice.sample_content_type)


def signup(request: HttpRequest) -> HttpResponse:
    form = forms.SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = services.user_sign_up(
                data=services.SignUp(
                    email=d["email"],
                    password=d["password"],
                    display_name=d["display_name"],
                    role=d["role"],
                    legal_name=d["legal_name"],
                    stage_name=d["stage_name"],
                    bio=d["bio"],
                    organisation=d["organisation"],
                    brand_name=d["brand_name"],
                    brand_country=d["brand_country"] or "",
                    billing_email=d["billing_email"],
                )
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Timbre.")
            return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    roles = selectors.roles_of(request.user)
    if roles.manages_voices:
        return redirect("studio")
    if roles.brands:
        return redirect("brand-dashboard", slug=roles.brands[0].slug)
    if roles.auditor:
        return redirect("auditor-dashboard")
    return redirect("catalog")


# --- performers and representatives --------------------------------------------------


@login_required
def studio(request: HttpRequest) -> HttpResponse:
    roles = selectors.roles_of(request.user)
    if not roles.manages_voices:
        raise PermissionDenied("The studio is for performers and their representatives.")
    return render(
        request,
        "registry/studio.html",
        {
            "identity": identity.identity_status(roles.performer) if roles.performer else None,
            "performers": managed_performers(request.user),
            "voices": selectors.managed_voices(request.user),
            "authorities": selectors.authorities_of(request.user),
        },
    )


@login_required
def voice_new(request: HttpRequest) -> HttpResponse:
    performers = managed_performers(request.user)
    if not performers.exists():
        raise PermissionDenied("You act for no performer yet.")
    form = forms.VoiceForm(request.POST or None, request.FILES or None, performers=performers)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        sample = d["sample_audio"]
        try:
            voice = services.voice_register(
                actor=signed_in_user(request),
                performer=d["performer"],
                data=services.VoiceInput(
                    display_name=d["display_name"],
                    description=d["description"],
                    languages=split_list(d["languages"]),
                    styles=split_list(d["styles"]),
                    uses=d["uses"],
                    provider=d["provider"],
                    provider_ref=d["provider_ref"],
                    model_sha256=d["model_sha256"] or None,
                    model_file=d["model_file"],
                    sample_audio=sample,
                    sample_name=getattr(sample, "name", "sample"),
                ),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Voice registered as a draft. Give consent to activate it.")
            return redirect("voice-manage", slug=voice.slug)
    return render(request, "registry/voice_form.html", {"form": form, "title": "Register a voice"})


def _managed_voice(request: HttpRequest, slug: str) -> VoiceModel:
    voice = get_object_or_404(selectors.managed_voices(request.user), slug=slug)
    return voice


@login_required
def voice_manage(request: HttpRequest, slug: str) -> HttpResponse:
    voice = _managed_voice(request, slug)
    user = signed_in_user(request)
    capacity = consent_capacity(user, voice.performer)
    statement = (
        services.consent_statement(voice=voice, giver=user, capacity=capacity[0])
        if capacity
        else None
    )
    consent = voice.current_consent()
    reminder_days = max(settings.TIMBRE_CONSENT_REMINDER_DAYS)
    return render(
        request,
        "registry/voice_manage.html",
        {
            "voice": voice,
            "consent": consent,
            "last_consent": voice.consents.order_by("-given_at", "-pk").first(),
            "renewal_due": consent is not None
            and consent.expires_at - timezone.now() <= timedelta(days=reminder_days),
            "consents": voice.consents.all(),
            "history": voice.status_changes.select_related("changed_by"),
            "may_consent": capacity is not None,
            "identity_standing": voice.performer.identity_standing(),
            "own_identity": voice.performer.user_id == user.pk,
            "statement": statement,
            "consent_form": forms.ConsentForm(),
            "withdraw_form": forms.WithdrawConsentForm(),
        },
    )


@login_required
def voice_edit(request: HttpRequest, slug: str) -> HttpResponse:
    voice = _managed_voice(request, slug)
    initial = {
        "display_name": voice.display_name,
        "description": voice.description,
        "languages": ", ".join(voice.languages),
        "styles": ", ".join(voice.styles),
        "uses": voice.uses,
        "provider_ref": voice.provider_ref,
    }
    form = forms.VoiceEditForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        sample = d.pop("sample_audio")
        d["languages"] = split_list(d["languages"])
        d["styles"] = split_list(d["styles"])
        try:
            services.voice_update(
                actor=signed_in_user(request),
                voice=voice,
                changes=d,
                sample_audio=sample,
                sample_name=getattr(sample, "name", "sample"),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Voice updated.")
            return redirect("voice-manage", slug=voice.slug)
    return render(
        request, "registry/voice_form.html", {"form": form, "title": f"Edit {voice.display_name}"}
    )


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


@login_required
@require_POST
def voice_consent(request: HttpRequest, slug: str) -> HttpResponse:
    voice = _managed_voice(request, slug)
    form = forms.ConsentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Tick the box to consent; " + form.errors.as_text())
        return redirect("voice-manage", slug=slug)
    audio = form.cleaned_data["consent_audio"]
    try:
        services.consent_give(
            actor=signed_in_user(request),
            voice=voice,
            statement_version=form.cleaned_data["statement_version"],
            ip_address=_client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            consent_audio=audio,
            consent_audio_name=getattr(audio, "name", "consent"),
            term_years=form.cleaned_data["term_years"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Consent recorded.")
    return redirect("voice-manage", slug=slug)


@login_required
@require_POST
def voice_consent_withdraw(request: HttpRequest, slug: str) -> HttpResponse:
    voice = _managed_voice(request, slug)
    form = forms.WithdrawConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why you withdraw consent.")
        return redirect("voice-manage", slug=slug)
    try:
        services.consent_withdraw(
            actor=signed_in_user(request), voice=voice, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Consent withdrawn; the voice is suspended.")
    return redirect("voice-manage", slug=slug)


@login_required
@require_POST
def voice_status(request: HttpRequest, slug: str) -> HttpResponse:
    voice = _managed_voice(request, slug)
    form = forms.StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown status.")
        return redirect("voice-manage", slug=slug)
    try:
        voice = services.voice_set_status(
            actor=signed_in_user(request),
            voice=voice,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The voice is now {voice.get_status_display().lower()}.")
    return redirect("voice-manage", slug=slug)


@login_required
def performer_new(request: HttpRequest) -> HttpResponse:
    representative = getattr(request.user, "representative", None)
    if representative is None:
        raise PermissionDenied("Only representatives add the performers they act for.")
    form = forms.RepresentedPerformerForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.represented_performer_add(
                representative=representative,
                legal_name=d["legal_name"],
                stage_name=d["stage_name"],
                bio=d["bio"],
                is_living=d["is_living"],
                is_minor=d["is_minor"],
                date_of_birth=d["date_of_birth"],
                kind=d["kind"],
                evidence=d["evidence"],
                evidence_name=d["evidence"].name,
                evidence_description=d["evidence_description"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, "Recorded. You can act for this performer once we verify your evidence."
            )
            return redirect("studio")
    return render(request, "registry/performer_form.html", {"form": form})


# --- API keys for brands and auditors ------------------------------------------------


def _keys_page(
    request: HttpRequest, owner: Brand | Auditor, template: str, **extra: Any
) -> HttpResponse:
    form = forms.ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _, new_key = services.api_key_create(
                actor=signed_in_user(request),
                owner=owner,
                name=form.cleaned_data["name"],
                nonce=form.cleaned_data["nonce"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            form = forms.ApiKeyForm()
    keys = owner.api_keys.select_related("created_by")
    response = render(
        request, template, {"owner": owner, "keys": keys, "form": form, "new_key": new_key, **extra}
    )
    if new_key:
        # The only copy of the key is in this page: keep it out of every cache.
        response["Cache-Control"] = "no-store"
    return response


@login_required
def brand_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    brand = _member_brand(request, slug)
    membership = brand.memberships.get(user=signed_in_user(request))
    return _keys_page(
        request,
        brand,
        "registry/brand_dashboard.html",
        brand=brand,
        membership=membership,
        verification=brand.verification(),
        members=brand.memberships.select_related("user"),
    )


def _member_brand(request: HttpRequest, slug: str) -> Brand:
    return get_object_or_404(Brand, slug=slug, memberships__user=request.user)


@login_required
def brand_verification(request: HttpRequest, slug: str) -> HttpResponse:
    """The brand's verified legal name and domain; its owners claim and check them here."""
    brand = _member_brand(request, slug)
    user = signed_in_user(request)
    is_owner = is_brand_owner(user, brand)
    state = selectors.brand_verification_state(brand)
    pending = state["pending"]
    initial = (
        {"legal_name": pending.legal_name, "domain": pending.domain_display} if pending else {}
    )
    form = forms.BrandVerificationForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not is_owner:
            raise PermissionDenied("Only the brand's owners verify its legal name and domain.")
        if form.is_valid():
            try:
                brand_domains.brand_verification_start(
                    actor=user,
                    brand=brand,
                    legal_name=form.cleaned_data["legal_name"],
                    domain=form.cleaned_data["domain"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "Now publish the TXT record below, then check it.")
                return redirect("brand-verification", slug=brand.slug)
    return render(
        request,
        "registry/brand_verification.html",
        {
            "brand": brand,
            "is_owner": is_owner,
            "form": form,
            "email_form": forms.BrandEmailForm(),
            **state,
        },
    )


@login_required
@require_POST
def brand_verification_check(request: HttpRequest, slug: str) -> HttpResponse:
    brand = _member_brand(request, slug)
    try:
        claim = brand_domains.brand_verification_check(actor=signed_in_user(request), brand=brand)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Verified: {claim.legal_name}, {claim.domain_display}. Licenses issued "
            "from now on name them.",
        )
    return redirect("brand-verification", slug=brand.slug)


@login_required
@require_POST
def brand_verification_email(request: HttpRequest, slug: str) -> HttpResponse:
    brand = _member_brand(request, slug)
    form = forms.BrandEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the address to send the link to.")
        return redirect("brand-verification", slug=brand.slug)
    try:
        claim = brand_domains.brand_verification_email_send(
            actor=signed_in_user(request),
            brand=brand,
            mailbox=form.cleaned_data["mailbox"],
            link_base=settings.TIMBRE_ORIGIN,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Sent a link to {claim.email_sent_to}: whoever reads it confirms there."
        )
    return redirect("brand-verification", slug=brand.slug)


def brand_verification_email_link(request: HttpRequest, pk: int, secret: str) -> HttpResponse:
    """The link e-mailed to an address at the domain. Opening it shows the claim; only the
    button confirms it (mail scanners open links, and must not verify anything)."""
    try:
        if request.method == "POST":
            claim = brand_domains.brand_verification_email_confirm(
                verification_id=pk, secret=secret
            )
        else:
            claim = brand_domains.brand_verification_email_claim(verification_id=pk, secret=secret)
    except ValidationError as exc:
        return render(
            request,
            "registry/brand_email_link.html",
            {"error": " ".join(exc.messages)},
            status=400,
        )
    return render(request, "registry/brand_email_link.html", {"claim": claim})


@login_required
def auditor_dashboard(request: HttpRequest) -> HttpResponse:
    auditor = getattr(request.user, "auditor", None)
    if auditor is None:
        raise PermissionDenied("This page is for auditors.")
    grants = auditor.grants.filter(revoked_at__isnull=True).select_related("performer")
    return _keys_page(request, auditor, "registry/auditor_dashboard.html", grants=grants)


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk)
    # The service checks the membership: 403 otherwise.
    services.api_key_revoke(actor=signed_in_user(request), key=key)
    messages.success(request, f"Key “{key.name}” revoked.")
    if key.brand is not None:
        return redirect("brand-dashboard", slug=key.brand.slug)
    return redirect("auditor-dashboard")


@login_required
def audit_grants(request: HttpRequest) -> HttpResponse:
    """Which auditors may read a performer's usage, licenses' terms and statements."""
    performers = managed_performers(request.user)
    if not performers.exists():
        raise PermissionDenied("You act for no performer.")
    form = forms.AuditGrantForm(request.POST or None, performers=performers)
    if request.method == "POST" and form.is_valid():
        try:
            grant = services.audit_grant_give(
                actor=signed_in_user(request),
                performer=form.cleaned_data["performer"],
                auditor_email=form.cleaned_data["auditor_email"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request, f"{grant.auditor.user.email} can now audit {grant.performer.stage_name}."
            )
            return redirect("audit-grants")
    grants = AuditGrant.objects.filter(performer__in=performers).select_related(
        "performer", "auditor__user", "granted_by"
    )
    return render(request, "registry/audit_grants.html", {"form": form, "grants": grants})


@login_required
@require_POST
def audit_grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    grant = get_object_or_404(AuditGrant, pk=pk, performer__in=managed_performers(request.user))
    services.audit_grant_revoke(actor=signed_in_user(request), grant=grant)
    messages.success(request, f"{grant.auditor.user.email} no longer audits {grant.performer}.")
    return redirect("audit-grants")


def _consenting_for(user: Any) -> QuerySet[Performer]:
    """Performers for whom ``user`` consents (and so grants delegations)."""
    return Performer.objects.filter(
        pk__in=[p.pk for p in managed_performers(user) if consent_capacity(user, p) is not None]
    )


@login_required
def delegations(request: HttpRequest) -> HttpResponse:
    """A performer's grants of powers to representatives, and a representative's
    delegations received."""
    user = signed_in_user(request)
    performers = _consenting_for(user)
    received = Delegation.objects.filter(representative__user=user)
    if not performers.exists() and not received.exists():
        raise PermissionDenied("You consent for no performer and hold no delegation.")
    representatives = Representative.objects.filter(
        authorities__performer__in=performers, authorities__status=Authority.Status.ACTIVE
    ).distinct()
    form = forms.DelegationForm(
        request.POST or None, performers=performers, representatives=representatives
    )
    if request.method == "POST" and form.is_valid():
        try:
            delegation = services.delegation_grant(
                actor=user,
                performer=form.cleaned_data["performer"],
                representative=form.cleaned_data["representative"],
                powers=form.cleaned_data["powers"],
                ends_on=form.cleaned_data["ends_on"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"{delegation.representative} may now act for {delegation.performer} "
                f"until {delegation.ends_on:%-d %b %Y}.",
            )
            return redirect("delegations")
    given = Delegation.objects.filter(performer__in=performers)
    return render(
        request,
        "registry/delegations.html",
        {
            "form": form if performers.exists() else None,
            "given": given.select_related("performer", "representative__user", "granted_by"),
            "received": received.select_related("performer"),
            "today": timezone.now().date(),
        },
    )


@login_required
@require_POST
def delegation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    delegation = get_object_or_404(
        Delegation.objects.filter(
            Q(performer__in=_consenting_for(user)) | Q(representative__user=user)
        ).distinct(),
        pk=pk,
    )
    try:
        services.delegation_revoke(actor=user, delegation=delegation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The delegation to {delegation.representative} has ended.")
    return redirect("delegations")
