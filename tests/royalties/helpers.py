"""Issue a license the way people do (offer, request, approval, settlement), and the
body of a work as a brand's pipeline posts it."""

from __future__ import annotations

import hashlib
from typing import Any

from licensing import services as licensing
from tests.licensing.helpers import offer_terms, request_input


def issue(
    voice: Any,
    brand_user: Any,
    operator: Any,
    *,
    terms: dict[str, Any] | None = None,
    **request: Any,
) -> Any:
    brand = brand_user.brand_memberships.get().brand
    offer = licensing.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Works",
        offer_terms=offer_terms(**(terms or {})),
    )
    req = licensing.request_submit(
        actor=brand_user, brand=brand, offer=offer, data=request_input(**request)
    )
    licensing.request_decide(actor=voice.performer.user, request=req, approve=True)
    return licensing.license_settle_manually(operator=operator, request=req, invoice_ref="INV")


def work(license_id: str | None = None, n: int = 0, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_ref": f"ad-{n}",
        "content_sha256": f"{n:064x}",
        "duration_ms": 30_000,
        "language": "en-US",
        "territory": "US",
        "use": "advertising",
        "medium": "tv",
        "title": f"Spot {n}",
    }
    if license_id is not None:
        body["license_id"] = license_id
    body.update(over)
    return body


def record_one(lic: Any, ref: str, *, content_sha256: str | None = None) -> Any:
    """Record one second-long US TV ad under `lic` as its brand; return the outcome."""
    from django.db import transaction

    from royalties.services import WorkInput, works_record

    item = WorkInput(
        license_id=lic.license_id,
        client_ref=ref,
        content_sha256=content_sha256 or hashlib.sha256(ref.encode()).hexdigest(),
        duration_ms=1000,
        language="en-US",
        territory="US",
        use="advertising",
        medium="tv",
    )
    with transaction.atomic():
        [outcome] = works_record(brand=lic.brand, items=[item])
    return outcome


def post_with_audio(
    key: str, license_id: str, audio: bytes, *, idem: str, name: str = "spot.wav", **fields: Any
) -> Any:
    """POST one work with its audio (multipart) as a brand's pipeline does; the fields
    are the JSON body's, less the hash and the duration, which the registry measures."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    body = {k: v for k, v in work(**fields).items() if k not in ("content_sha256", "duration_ms")}
    body.update({k: v for k, v in fields.items() if k in ("content_sha256", "duration_ms")})
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return c.post(
        f"/api/v1/licenses/{license_id}/works",
        {**body, "audio": SimpleUploadedFile(name, audio)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=idem,
    )


def licensed(voice: Any, brand_user: Any, operator: Any, **terms: Any) -> Any:
    """A license issued and paid as operators settle invoices by hand (payments books the
    upfront fee and the guarantee), with ``terms`` over offer_terms' defaults; the term is
    ``valid_from``..``valid_until`` (default: today, for a year)."""
    from payments import fees

    valid = {k: terms.pop(k) for k in ("valid_from", "valid_until") if k in terms}
    brand = brand_user.brand_memberships.get().brand
    offer = licensing.offer_publish(
        actor=voice.performer.user, voice=voice, title="Works", offer_terms=offer_terms(**terms)
    )
    req = licensing.request_submit(
        actor=brand_user,
        brand=brand,
        offer=offer,
        data=request_input(
            media=["tv"], languages=["en-US"], territories=["US"], uses=["advertising"], **valid
        ),
    )
    licensing.request_decide(actor=voice.performer.user, request=req, approve=True)
    req.refresh_from_db()
    return fees.fee_settle_manually(operator=operator, request=req, reference=f"BANK-{req.pk}")


def run_statement_check(url: str, jws: str, folder: Any, *args: str) -> int:
    """``python -m verifier statement`` on ``jws`` against the registry at ``url``, with
    the log's key (as an auditor holds it) and any further arguments."""
    from unittest import mock

    from transparency import keys
    from verifier import cli, statement_check

    path = folder / f"statement-{hashlib.sha256(jws.encode()).hexdigest()[:12]}.jws"
    path.write_text(jws + "\n")
    commands = cli.COMMANDS
    if statement_check.register not in commands:
        commands = [*commands, statement_check.register]
    argv = ["statement", "--url", url, "--statement", str(path)]
    argv += ["--verifier-key", keys.verifier_key(), *args]
    with mock.patch.object(cli, "COMMANDS", commands):
        return cli.main(argv)
