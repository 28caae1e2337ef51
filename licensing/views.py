"""Licensing pages: offers, requests, licenses, settlement and the public /verify/ page."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import apply_service_errors
from licensing import forms, services
from licensing.models import License, LicenseRequest, Offer
from registry.models import Brand, VoiceModel
from registry.policies import (
    can_manage_voice,
    is_brand_member,
    managed_performers,
    signed_in_user,
)
from verifier.reasons import WORDS


def offers(request: HttpRequest) -> HttpResponse:
    items = Offer.objects.filter(
        status=Offer.Status.PUBLISHED, voice__status=VoiceModel.Status.ACTIVE
    ).select_related("voice__performer")
    voice = request.GET.get("voice", "")
    if voice:
        items = items.filter(voice__slug=voice[:100])
    return render(request, "licensing/offers.html", {"offers": items})


def offer_page(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(
        Offer.objects.select_related("voice__performer"), pk=pk, status=Offer.Status.PUBLISHED
    )
    brands = (
        Brand.objects.filter(memberships__user=request.user)
        if request.user.is_authenticated
        else Brand.objects.none()
    )
    version = offer.current
    form = forms.RequestForm(
        request.POST or None,
        brands=brands,
        initial={
            "uses": version.uses[:1],
            "media": version.media[:1],
            "territories": ", ".join(version.territories[:1]),
            "languages": ", ".join(version.languages[:1]),
        },
    )
    if request.method == "POST":
        if not brands.exists():
            raise PermissionDenied("Only brand members request licenses.")
        if form.is_valid():
            d = dict(form.cleaned_data)
            brand = d.pop("brand")
            d["territories"] = [
                t for t in d["territories"].replace(";", ",").split(",") if t.strip()
            ]
            d["languages"] = [t.strip() for t in d["languages"].split(",") if t.strip()]
            try:
                req = services.request_submit(
                    actor=signed_in_user(request),
                    brand=brand,
                    offer=offer,
                    data=services.RequestInput(**d),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Request sent ({req.get_status_display().lower()}).")
                return redirect("brand-licensing", slug=brand.slug)
    return render(
        request,
        "licensing/offer.html",
        {
            "offer": offer,
            "version": version,
            "form": form,
            "can_request": brands.exists(),
            "unverified_brands": [b for b in brands if b.verification() is None],
            "union": services.union_breakdown_of_version(version),
        },
    )


@login_required
def brand_licensing(request: HttpRequest, slug: str) -> HttpResponse:
    brand = get_object_or_404(Brand, slug=slug, memberships__user=request.user)
    return render(
        request,
        "licensing/brand.html",
        {
            "brand": brand,
            "requests": brand.license_requests.select_related("offer_version__offer__voice"),
            "licenses": brand.licenses.select_related("voice", "signing_key"),
        },
    )


def _visible_license(request: HttpRequest, license_id: str) -> License:
    lic = get_object_or_404(
        License.objects.select_related("voice__performer", "brand", "signing_key"),
        license_id=license_id,
    )
    user = request.user
    if not (
        user.is_authenticated
        and (user.is_staff or is_brand_member(user, lic.brand) or can_manage_voice(user, lic.voice))
    ):
        raise PermissionDenied("Only the brand, the performer's side and operators see this page.")
    return lic


def license_page(request: HttpRequest, license_id: str) -> HttpResponse:
    lic = _visible_license(request, license_id)
    is_brand = is_brand_member(signed_in_user(request), lic.brand)
    status = lic.status_at()
    return render(
        request,
        "licensing/license.html",
        {
            "license": lic,
            "status": status,
            "status_words": "" if status == License.Status.ACTIVE else WORDS.get(status, ""),
            "document": json.dumps(lic.document, indent=2, sort_keys=True),
            "is_brand": is_brand,
            "is_performer_side": can_manage_voice(request.user, lic.voice),
            "revoke_form": forms.RevokeForm(),
            "union": services.union_breakdown_of_license(lic),
        },
    )


@require_POST
def license_revoke(request: HttpRequest, license_id: str) -> HttpResponse:
    lic = _visible_license(request, license_id)
    form = forms.RevokeForm(request.POST)
    if form.is_valid():
        try:
            services.license_revoke(
                actor=signed_in_user(request),
                license=lic,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"License {lic.license_id} revoked.")
    return redirect("license-page", license_id=license_id)


@login_required
def studio_requests(request: HttpRequest) -> HttpResponse:
    performers = managed_performers(request.user)
    if not performers.exists():
        raise PermissionDenied("This page is for performers and their representatives.")
    requests = LicenseRequest.objects.filter(
        offer_version__offer__voice__performer__in=performers
    ).select_related("brand", "offer_version__offer__voice")
    return render(
        request,
        "licensing/studio_requests.html",
        {
            "pending": requests.filter(status=LicenseRequest.Status.SUBMITTED),
            "others": requests.exclude(status=LicenseRequest.Status.SUBMITTED)[:100],
            "licenses": License.objects.filter(voice__performer__in=performers).select_related(
                "brand", "voice", "signing_key"
            ),
            "offers": Offer.objects.filter(voice__performer__in=performers).select_related("voice"),
            "voices": VoiceModel.objects.filter(
                performer__in=performers, status=VoiceModel.Status.ACTIVE
            ),
        },
    )


@login_required
@require_POST
def request_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in ("approve", "decline"):
        raise Http404("No such decision")
    req = get_object_or_404(LicenseRequest, pk=pk)
    form = forms.DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.request_decide(
            actor=signed_in_user(request), request=req, approve=decision == "approve", note=note
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Request {'approved' if decision == 'approve' else 'declined'}.")
    return redirect("studio-requests")


@login_required
def offer_new(request: HttpRequest, slug: str) -> HttpResponse:
    voice = get_object_or_404(VoiceModel, slug=slug, performer__in=managed_performers(request.user))
    form = forms.OfferForm(
        request.POST or None,
        initial={"territories": "WORLD", "languages": ", ".join(voice.languages)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.offer_publish(
                actor=signed_in_user(request),
                voice=voice,
                title=form.cleaned_data["title"],
                offer_terms=services.OfferTerms(**form.terms()),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Offer published.")
            return redirect("studio-requests")
    return render(request, "licensing/offer_form.html", {"form": form, "voice": voice})
