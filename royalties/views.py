"""Earnings, works, statements and brand usage pages; the operator's estates page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from core.months import month_start
from core.parsing import parse_month, parse_percent_bps
from licensing.models import License
from registry.models import Brand, PerformerDeath, VoiceModel
from registry.policies import managed_performers, signed_in_user
from royalties import exports, selectors, trust
from royalties.estates import performer_record_death
from royalties.forms import DeathForm
from royalties.models import (
    Account,
    EstateShare,
    LicenseUsage,
    Payee,
    Statement,
    VoiceSplit,
    WorkAttempt,
)
from royalties.splits import Share, voice_splits_set
from royalties.statements import StatementData, currencies_of, signed_statement, statement_for


def _month(raw: str) -> date:
    month = parse_month(raw)
    if month is None:
        raise Http404("Months look like 2026-11")
    return month


@login_required
def earnings(request: HttpRequest) -> HttpResponse:
    payees = selectors.payees_of(request.user)
    if not payees.exists() and not managed_performers(request.user).exists():
        raise PermissionDenied("Earnings are for performers and their representatives.")
    by_month = selectors.earnings_by_month(payees)
    by_voice = selectors.earnings_by_voice(payees)
    for row in by_month:
        row["label_text"] = f"{row['month']:%b %Y}"
    statements = Statement.objects.filter(payee__in=payees).select_related("period", "payee")
    drafts = [
        {"payee": p, "currency": c, "month": month_start(date.today())}
        for p in payees
        for c in currencies_of(p)
    ]
    # A minor's own payee: its set-aside held in trust, and the trust account named for it.
    minors = [
        {
            "payee": p,
            "holdings": [trust.coogan_trust(p, c) for c in currencies_of(p)],
            "trust": trust.CooganTrust.objects.filter(payee=p).first(),
        }
        # A performer who came of age still sees what was set aside while a minor.
        for p in payees.filter(kind=Payee.Kind.PERFORMER)
        .filter(Q(performer__is_minor=True) | Q(account__kind=Account.Kind.MINOR_TRUST))
        .distinct()
    ]
    return render(
        request,
        "royalties/earnings.html",
        {
            "minors": minors,
            "month_chart": selectors.chart(by_month, "label_text"),
            "voice_chart": selectors.chart(by_voice, "voice"),
            "by_month": by_month,
            "by_voice": by_voice,
            "statements": statements,
            "drafts": drafts,
            "attempts": WorkAttempt.objects.filter(
                license__voice__performer__in=managed_performers(request.user)
            )
            .select_related("brand")
            .order_by("-at")[:20],
        },
    )


@login_required
def works(request: HttpRequest) -> HttpResponse:
    month_raw = request.GET.get("month", "")
    items = selectors.works_for(
        request.user,
        voice=request.GET.get("voice", "")[:100],
        license_id=request.GET.get("license", "")[:40],
        month=_month(month_raw) if month_raw else None,
    )
    return render(request, "royalties/works.html", {"works": items[:500], "filters": request.GET})


def _statement(
    request: HttpRequest, payee_id: int, month: str, currency: str
) -> tuple[StatementData, bool]:
    payee = get_object_or_404(selectors.statement_payees(request.user), pk=payee_id)
    if currency not in currencies_of(payee):
        raise Http404("No statement in this currency")
    return statement_for(payee, _month(month), currency)


@login_required
def statement_page(request: HttpRequest, payee_id: int, month: str, currency: str) -> HttpResponse:
    data, frozen = _statement(request, payee_id, month, currency)
    signed = frozen and signed_statement(data.payee, data.month, currency) is not None
    return render(
        request,
        "royalties/statement.html",
        {
            "s": data,
            "frozen": frozen,
            "signed": signed,
            "union": data.payee.kind == Payee.Kind.UNION,
            "trust": trust.coogan_trust(data.payee, currency) if data.set_aside else None,
        },
    )


@login_required
def statement_csv(
    request: HttpRequest, payee_id: int, month: str, currency: str
) -> StreamingHttpResponse:
    data, _ = _statement(request, payee_id, month, currency)
    response = StreamingHttpResponse(exports.csv_rows(data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{payee_id}-{month}-{currency}.csv"'
    )
    return response


@login_required
def statement_pdf(request: HttpRequest, payee_id: int, month: str, currency: str) -> HttpResponse:
    data, _ = _statement(request, payee_id, month, currency)
    response = HttpResponse(exports.pdf_bytes(data), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{payee_id}-{month}-{currency}.pdf"'
    )
    return response


@login_required
def statement_jws(request: HttpRequest, payee_id: int, month: str, currency: str) -> HttpResponse:
    """The signed statement (timbre-statement+jws), for `python -m verifier statement`."""
    payee = get_object_or_404(selectors.statement_payees(request.user), pk=payee_id)
    stored = signed_statement(payee, _month(month), currency)
    if stored is None:
        raise Http404("No signed statement: the month is open, or closed before signing began")
    response = HttpResponse(stored.jws, content_type="application/jose")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{payee_id}-{month}-{currency}.jws"'
    )
    return response


@login_required
def brand_usage(request: HttpRequest, slug: str) -> HttpResponse:
    brand = get_object_or_404(Brand, slug=slug, memberships__user=request.user)
    licenses = License.objects.filter(brand=brand).select_related("offer_version", "voice")
    usage = {u.license_id: u for u in LicenseUsage.objects.filter(license__in=licenses)}
    rows = [
        {
            "license": lic,
            "usage": usage.get(lic.pk),
            "max_works": lic.offer_version.max_works,
            "max_seconds": lic.offer_version.max_seconds,
            "seconds": (usage[lic.pk].milliseconds // 1000) if lic.pk in usage else 0,
        }
        for lic in licenses
    ]
    return render(
        request,
        "royalties/brand_usage.html",
        {"brand": brand, "rows": rows, "owes": selectors.brand_owes(brand)},
    )


@login_required
def voice_splits(request: HttpRequest, slug: str) -> HttpResponse:
    """Set who shares the voice's royalties: one payee per line, `kind, name, percent`."""
    voice = get_object_or_404(VoiceModel, slug=slug, performer__in=managed_performers(request.user))
    current = VoiceSplit.objects.filter(voice=voice).select_related("payee")
    error = ""
    text = (
        request.POST.get("shares", "")
        if request.method == "POST"
        else "\n".join(f"{s.payee.kind}, {s.payee.name}, {s.bps / 100:g}" for s in current)
        or f"performer, {voice.performer.stage_name}, 100"
    )
    if request.method == "POST":
        try:
            shares = []
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                parts = [p.strip() for p in line.split(",")]
                if len(parts) != 3:
                    raise ValidationError(
                        {"shares": [f"Line {number}: write `kind, name, percent`."]}
                    )
                try:
                    bps = parse_percent_bps(parts[2])
                except ValueError as exc:
                    raise ValidationError(
                        {
                            "shares": [
                                f"Line {number}: {parts[2]!r} is not a percentage "
                                "with at most two decimals."
                            ]
                        }
                    ) from exc
                shares.append(Share(kind=parts[0], name=parts[1], bps=bps))
            voice_splits_set(actor=signed_in_user(request), voice=voice, shares=shares)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, "Splits saved; they apply to works recorded from now on.")
            return redirect("voice-splits", slug=slug)
    return render(
        request,
        "royalties/splits.html",
        {"voice": voice, "current": current, "text": text, "error": error},
    )


@staff_member_required
def estates(request: HttpRequest) -> HttpResponse:
    """The operator records a performer's death, and who the estate's payees are."""
    form = DeathForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            evidence = data["evidence"]
            try:
                death = performer_record_death(
                    operator=signed_in_user(request),
                    performer=data["performer"],
                    date_of_death=data["date_of_death"],
                    jurisdiction=data["jurisdiction"],
                    evidence=evidence,
                    evidence_name=evidence.name or "evidence",
                    heirs=data["heirs"],
                )
            except ValidationError as exc:
                by_field = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
                for name, errors in by_field.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    f"The death of {death.performer.stage_name} is recorded; the estate's "
                    f"post-mortem term runs until {death.post_mortem_until}.",
                )
                return redirect("operations-estates")
        status = 400
    deaths = PerformerDeath.objects.select_related("performer", "recorded_by").order_by(
        "-recorded_at"
    )
    return render(
        request,
        "royalties/estates.html",
        {
            "form": form,
            "deaths": [
                {
                    "death": d,
                    "shares": [
                        f"{s.payee.name} {Decimal(s.bps) / 100:g}%"
                        for s in EstateShare.objects.filter(performer=d.performer)
                        .select_related("payee")
                        .order_by("pk")
                    ],
                }
                for d in deaths
            ],
        },
        status=status,
    )


@login_required
def coogan_trust_set(request: HttpRequest, payee_id: int) -> HttpResponse:
    """The guardian names the trust account a minor's set-aside is paid to."""
    if request.method != "POST":
        return redirect("earnings")
    payee = get_object_or_404(selectors.payees_of(request.user), pk=payee_id)
    try:
        trust.coogan_trust_name(
            actor=signed_in_user(request),
            payee=payee,
            institution=request.POST.get("institution", ""),
            reference=request.POST.get("reference", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Trust account for {payee.name} recorded.")
    return redirect("earnings")
