"""Pages of identity verification: the performer's evidence, the operators' queue.

The identity document and the challenge recording are served by these views only, to the
performer they belong to and to operators; everyone else gets a 404.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import apply_service_errors
from registry import forms, identity
from registry.models import IdentityVerification, Performer
from registry.policies import signed_in_user


def _own_performer(request: HttpRequest) -> Performer:
    performer = Performer.objects.filter(user=signed_in_user(request)).first()
    if performer is None:
        raise PermissionDenied(
            "Identity verification is for performers with their own account; a "
            "representative's authority is verified from the evidence they gave."
        )
    return performer


@login_required
def identity_page(request: HttpRequest) -> HttpResponse:
    performer = _own_performer(request)
    user = signed_in_user(request)
    status = identity.identity_status(performer)
    form = forms.IdentityForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            identity.identity_submit(
                actor=user,
                performer=performer,
                challenge_id=d["challenge"],
                recording=d["recording"],
                document=d["document"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                "Thank you. An operator will check your evidence; we will show the answer here.",
            )
            return redirect("identity")
    challenge = None
    if status.state in ("unverified", "refused", "pending"):
        challenge = identity.identity_challenge_issue(actor=user, performer=performer)
        form.initial["challenge"] = challenge.pk
        if form.is_bound:
            # A failed submission spent nothing: the page shows the same sentence again.
            data = cast(QueryDict, form.data).copy()
            data["challenge"] = str(challenge.pk)
            form.data = data
    return render(
        request,
        "registry/identity.html",
        {"performer": performer, "status": status, "challenge": challenge, "form": form},
    )


def _submission_for(request: HttpRequest, pk: int) -> IdentityVerification:
    submission = get_object_or_404(IdentityVerification, pk=pk)
    user = request.user
    allowed = getattr(user, "is_staff", False) or (
        getattr(user, "is_authenticated", False) and submission.performer.user_id == user.pk
    )
    if not allowed:
        raise Http404("No such submission")  # not a 403: its existence is nobody's business
    return submission


def _private_file(field: FieldFile, content_type: str, name: str) -> FileResponse:
    if not field:
        raise Http404("This file was removed when the submission was replaced.")
    response = FileResponse(field.open("rb"), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    if content_type != "application/pdf":
        # Shown, never run: nothing in a crafted file gets a script on our origin. (A PDF
        # opens in the browser's own viewer, which a sandboxed document may not load; the
        # upload's first bytes were checked, and nosniff holds the browser to this type.)
        response["Content-Security-Policy"] = "sandbox"
    return response


@login_required
def identity_document(request: HttpRequest, pk: int) -> FileResponse:
    submission = _submission_for(request, pk)
    extension = submission.document_content_type.rsplit("/", 1)[-1]
    return _private_file(
        submission.document, submission.document_content_type, f"document.{extension}"
    )


@login_required
def identity_recording(request: HttpRequest, pk: int) -> FileResponse:
    submission = _submission_for(request, pk)
    extension = submission.recording_content_type.rsplit("/", 1)[-1]
    return _private_file(
        submission.recording, submission.recording_content_type, f"challenge.{extension}"
    )


@staff_member_required
def identity_queue(request: HttpRequest) -> HttpResponse:
    pending, flagged = identity.identity_queue()
    return render(
        request,
        "registry/identity_queue.html",
        {"pending": pending, "flagged": flagged, "form": forms.IdentityDecisionForm()},
    )


@staff_member_required
@require_POST
def identity_decide(request: HttpRequest, pk: int) -> HttpResponse:
    submission = get_object_or_404(IdentityVerification, pk=pk)
    form = forms.IdentityDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to verify or refuse; " + form.errors.as_text())
        return redirect("identity-queue")
    approve = form.cleaned_data["decision"] == "approve"
    try:
        identity.identity_decide(
            operator=signed_in_user(request),
            submission=submission,
            approve=approve,
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        name = submission.performer.stage_name
        messages.success(request, f"{name}: identity verified." if approve else f"{name}: refused.")
    return redirect("identity-queue")
