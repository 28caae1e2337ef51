"""HTML pages. Thin: parse a form, check access, call a service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import apply_service_errors, split_list
from registry import forms, identity, selectors, services
from registry.models import USE_CHOICES, ApiKey, AuditGrant, Auditor, Brand, VoiceModel
from registry.policies import (
    can_manage_voice,
    consent_capacity,
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
    return render(
        request,
        "registry/voice_manage.html",
        {
            "voice": voice,
            "consent": voice.current_consent(),
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
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Consent recorded. You can now activate the voice.")
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
    brand = get_object_or_404(Brand, slug=slug, memberships__user=request.user)
    membership = brand.memberships.get(user=signed_in_user(request))
    return _keys_page(
        request,
        brand,
        "registry/brand_dashboard.html",
        brand=brand,
        membership=membership,
        members=brand.memberships.select_related("user"),
    )


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
