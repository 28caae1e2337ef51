"""Verified brands: an owner claims a legal name and a domain, publishes a DNS TXT record,
and the registry checks it with its real resolver, here asking a DNS server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from registry import brand_domains
from registry import services as registry_services
from registry.domains import normalise_domain
from registry.models import BrandVerification, legal_name_key
from tests import factories as f
from transparency.models import LogEntry, LogSubject

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_ivy(db: None) -> Any:
    """Ivy owns Ivy Audio, a brand that has not verified anything yet."""
    return f.MembershipFactory(
        brand__name="Ivy Audio",
        brand__slug="ivy-audio",
        brand__verified=False,
        user__email="ivy@example.com",
        role="owner",
    ).user


@pytest.fixture
def ivy_brand(owner_ivy: Any) -> Any:
    return owner_ivy.brand_memberships.get().brand


@pytest.fixture
def member_jon(ivy_brand: Any) -> Any:
    """Jon is a member of Ivy Audio, not an owner."""
    return f.MembershipFactory(brand=ivy_brand, user__email="jon@example.com").user


def api(user: Any = None, key: str | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def start(user: Any, brand: Any, legal_name: str = "Ivy Audio GmbH", domain: str = "ivy.example"):
    return api(user).post(
        f"/api/v1/brands/{brand.pk}/verification",
        {"legal_name": legal_name, "domain": domain},
        format="json",
    )


def check(user: Any, brand: Any) -> Any:
    return api(user).post(f"/api/v1/brands/{brand.pk}/verification/check")


# --- the happy path ----------------------------------------------------------------------


def test_it_verifies_a_domain_whose_txt_record_holds_the_token(
    owner_ivy: Any, ivy_brand: Any, dns_stub: Any
) -> None:
    started = start(owner_ivy, ivy_brand, domain="Ivy.Example.")
    assert started.status_code == 201, started.json()
    pending = started.json()["pending"]
    assert started.json()["verified"] is False and started.json()["verification"] is None
    assert pending["domain"] == "ivy.example"
    assert pending["txt_name"] == "_timbre.ivy.example"
    token = BrandVerification.objects.get(brand=ivy_brand).token
    assert pending["txt_value"] == f"timbre-verification={token}" and len(token) == 40

    # Asking again for the same claim gives the same token: it may be published already.
    assert start(owner_ivy, ivy_brand, domain="ivy.example").json()["pending"] == pending

    dns_stub.publish("_timbre.ivy.example", "v=spf1 -all", pending["txt_value"])
    checked = check(owner_ivy, ivy_brand)
    assert checked.status_code == 200, checked.json()
    body = checked.json()
    assert body["verified"] is True and body["pending"] is None
    assert body["verification"] | {"verified_at": None} == {
        "legal_name": "Ivy Audio GmbH",
        "domain": "ivy.example",
        "domain_display": "ivy.example",
        "method": "dns",
        "verified_at": None,
        "log_index": body["verification"]["log_index"],
    }
    assert "_timbre.ivy.example" in dns_stub.queries  # the real resolver asked our server
    assert ivy_brand.verification().legal_name == "Ivy Audio GmbH"


def test_verification_is_logged_with_the_domain_and_no_legal_name_in_clear(
    owner_ivy: Any, ivy_brand: Any, dns_stub: Any
) -> None:
    pending = start(owner_ivy, ivy_brand).json()["pending"]
    dns_stub.publish(pending["txt_name"], pending["txt_value"])
    body = check(owner_ivy, ivy_brand).json()

    entry = LogEntry.objects.get(event_type="brand.verified")
    assert entry.index == body["verification"]["log_index"]
    logged = json.loads(bytes(entry.data))
    assert logged == {
        "type": "brand.verified",
        "at": logged["at"],
        "brand_id": str(ivy_brand.pk),
        "domain": "ivy.example",
        "method": "dns",
        "legal_name_sha256": hashlib.sha256(b"Ivy Audio GmbH").hexdigest(),
    }
    assert "Ivy Audio GmbH" not in bytes(entry.data).decode()
    assert pending["txt_value"] not in bytes(entry.data).decode()
    assert LogSubject.objects.filter(subject=f"brand:{ivy_brand.pk}", index=entry.index).exists()


def test_a_record_split_into_several_strings_counts_as_one(
    owner_ivy: Any, ivy_brand: Any, dns_stub: Any
) -> None:
    pending = start(owner_ivy, ivy_brand).json()["pending"]
    value = pending["txt_value"]
    dns_stub.publish(pending["txt_name"], [value[:20], value[20:]])
    assert check(owner_ivy, ivy_brand).json()["verified"] is True


def test_an_internationalised_domain_is_verified_in_its_ascii_form(
    owner_ivy: Any, ivy_brand: Any, dns_stub: Any
) -> None:
    pending = start(owner_ivy, ivy_brand, domain="Bücher.example").json()["pending"]
    assert pending["domain"] == "xn--bcher-kva.example"
    assert pending["domain_display"] == "bücher.example"
    assert pending["txt_name"] == "_timbre.xn--bcher-kva.example"
    dns_stub.publish(pending["txt_name"], pending["txt_value"])
    assert check(owner_ivy, ivy_brand).json()["verification"]["domain"] == "xn--bcher-kva.example"


def test_a_new_claim_supersedes_the_last_once_verified(
    owner_ivy: Any, ivy_brand: Any, dns_stub: Any
) -> None:
    first = start(owner_ivy, ivy_brand).json()["pending"]
    dns_stub.publish(first["txt_name"], first["txt_value"])
    check(owner_ivy, ivy_brand)
    second = start(owner_ivy, ivy_brand, legal_name="Ivy Media AG", domain="ivymedia.example")
    assert second.json()["verification"]["domain"] == "ivy.example"  # still, until checked
    pending = second.json()["pending"]
    dns_stub.publish(pending["txt_name"], pending["txt_value"])
    assert check(owner_ivy, ivy_brand).json()["verification"]["domain"] == "ivymedia.example"
    assert list(
        ivy_brand.verifications.order_by("created_at").values_list("status", flat=True)
    ) == ["superseded", "verified"]


# --- what the DNS says when it says no ----------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "outcome", "words"),
    [
        ("nothing", "nxdomain", "does not exist in DNS"),
        ("exists", "no_txt", "has no TXT record"),
        ("wrong", "wrong_token", "none is timbre-verification="),
        ("silent", "timeout", "timed out"),
        ("servfail", "failed", "failed"),
    ],
)
def test_it_refuses_when_the_record_is_not_there(
    owner_ivy: Any, ivy_brand: Any, dns_stub: Any, setup: str, outcome: str, words: str
) -> None:
    pending = start(owner_ivy, ivy_brand).json()["pending"]
    name = pending["txt_name"]
    if setup == "exists":
        dns_stub.exists.add(name)
    elif setup == "wrong":
        dns_stub.publish(name, "timbre-verification=" + "f" * 40)
    elif setup in ("silent", "servfail"):
        getattr(dns_stub, setup).add(name)

    refused = check(owner_ivy, ivy_brand)
    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "/problems/validation-error"
    assert words in problem["errors"]["domain"][0]
    assert name in problem["errors"]["domain"][0]
    claim = BrandVerification.objects.get(brand=ivy_brand)
    assert claim.status == "pending" and claim.last_outcome == outcome
    assert ivy_brand.verification() is None
    assert not LogEntry.objects.filter(event_type="brand.verified").exists()


def test_checking_with_nothing_claimed_says_what_to_do(owner_ivy: Any, ivy_brand: Any) -> None:
    refused = check(owner_ivy, ivy_brand)
    assert refused.status_code == 400
    assert "give the legal name and domain first" in refused.json()["errors"]["domain"][0]


# --- one legal name, one domain, one brand --------------------------------------------------


def test_a_legal_name_verified_by_another_brand_is_refused_whatever_its_case(
    owner_ivy: Any, ivy_brand: Any, brand_bob: Any
) -> None:
    # Bob's brand (a factory brand) verified "Bobcat Audio Ltd".
    refused = start(owner_ivy, ivy_brand, legal_name="  BOBCAT   audio LTD ")
    assert refused.status_code == 400
    assert "Another verified brand has this legal name" in refused.json()["errors"]["legal_name"][0]


def test_a_domain_verified_by_another_brand_is_refused(
    owner_ivy: Any, ivy_brand: Any, brand_bob: Any
) -> None:
    taken = brand_bob.brand_memberships.get().brand.verification().domain
    refused = start(owner_ivy, ivy_brand, domain=taken.upper())
    assert refused.status_code == 400
    assert refused.json()["errors"]["domain"] == ["Another brand has verified this domain."]


def test_of_two_brands_claiming_one_domain_the_first_to_prove_it_wins(
    owner_ivy: Any, ivy_brand: Any, brand_hank: Any, dns_stub: Any
) -> None:
    hank_brand = brand_hank.brand_memberships.get().brand
    hank_brand.verifications.all().delete()
    ivy = start(owner_ivy, ivy_brand, domain="shared.example").json()["pending"]
    hank = start(brand_hank, hank_brand, legal_name="Hank Hats LLC", domain="shared.example")
    assert hank.status_code == 201
    dns_stub.publish(
        "_timbre.shared.example", ivy["txt_value"], hank.json()["pending"]["txt_value"]
    )
    assert check(owner_ivy, ivy_brand).json()["verified"] is True
    refused = check(brand_hank, hank_brand)
    assert refused.status_code == 400
    assert refused.json()["errors"]["domain"] == ["Another brand has verified this domain."]
    assert hank_brand.verification() is None


def test_the_database_holds_one_verified_brand_per_legal_name_and_domain(
    brand_bob: Any, owner_ivy: Any, ivy_brand: Any
) -> None:
    bob = brand_bob.brand_memberships.get().brand.verification()
    for legal_name, domain in (("bobcat audio ltd", "other.example"), ("Other", bob.domain)):
        with pytest.raises(IntegrityError), transaction.atomic():
            BrandVerification.objects.create(
                brand=ivy_brand,
                legal_name=legal_name,
                legal_name_key=legal_name_key(legal_name),
                domain=domain,
                token="1" * 40,
                status="verified",
                method="dns",
            )


# --- who may see and do it ------------------------------------------------------------


def test_a_member_sees_the_status_but_only_owners_claim_and_check(
    owner_ivy: Any, ivy_brand: Any, member_jon: Any, dns_stub: Any
) -> None:
    refused = start(member_jon, ivy_brand)
    assert refused.status_code == 403
    assert "owners" in refused.json()["detail"]
    assert not BrandVerification.objects.exists()

    pending = start(owner_ivy, ivy_brand).json()["pending"]
    dns_stub.publish(pending["txt_name"], pending["txt_value"])
    assert check(member_jon, ivy_brand).status_code == 403
    assert ivy_brand.verification() is None
    seen = api(member_jon).get(f"/api/v1/brands/{ivy_brand.pk}/verification")
    assert seen.status_code == 200 and seen.json()["pending"]["domain"] == "ivy.example"


def test_another_brand_sees_nothing_and_changes_nothing(
    owner_ivy: Any, ivy_brand: Any, brand_hank: Any
) -> None:
    start(owner_ivy, ivy_brand)
    url = f"/api/v1/brands/{ivy_brand.pk}/verification"
    for response in (
        api(brand_hank).get(url),
        start(brand_hank, ivy_brand),
        check(brand_hank, ivy_brand),
        api().get(url),
    ):
        assert response.status_code in (401, 404)
        assert "ivy.example" not in response.content.decode()
    assert api(brand_hank).get(url).status_code == 404
    assert BrandVerification.objects.get(brand=ivy_brand).created_by == owner_ivy


def test_an_api_key_reads_its_own_brand_status_but_does_not_claim(
    owner_ivy: Any, ivy_brand: Any, brand_bob: Any
) -> None:
    _, key = registry_services.api_key_create(actor=owner_ivy, owner=ivy_brand, name="ci")
    url = f"/api/v1/brands/{ivy_brand.pk}/verification"
    assert api(key=key).get(url).json() == {
        "brand_id": str(ivy_brand.pk),
        "verified": False,
        "verification": None,
        "pending": None,
    }
    refused = api(key=key).post(url, {"legal_name": "X", "domain": "x.example"}, format="json")
    assert refused.status_code == 403
    bob_brand = brand_bob.brand_memberships.get().brand
    assert api(key=key).get(f"/api/v1/brands/{bob_brand.pk}/verification").status_code == 404


# --- what may be claimed ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        ("", "Give your brand's domain name"),
        ("https://ivy.example/", "not a web address"),
        ("ivy.example/about", "not a web address"),
        ("webmaster@ivy.example", "not an e-mail address"),
        ("192.0.2.1", "not an IP address"),
        ("[2001:db8::1]", "not an IP address"),
        ("2001:db8::1", "not an IP address"),
        ("ivy.example:8080", "without a port"),
        ("ivy .example", "no spaces"),
        ("localhost", "with its top-level domain"),
        ("ivy..example", "single dots"),
        (".ivy.example", "single dots"),
        ("-ivy.example", "not a valid"),
        ("ivy_audio.example", "not a valid"),
        ("ivy.example.123", "not a top-level domain"),
        ("a" * 64 + ".example", "not a valid"),
        (".".join(["a" * 60] * 5) + ".example", "at most 253 characters"),
    ],
)
def test_it_refuses_what_is_not_a_domain_name(domain: str, words: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        normalise_domain(domain)
    assert words in refused.value.message_dict["domain"][0]


def test_a_bad_claim_is_a_400_naming_each_field(owner_ivy: Any, ivy_brand: Any) -> None:
    refused = start(owner_ivy, ivy_brand, legal_name="   ", domain="http://x")
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert set(errors) == {"legal_name", "domain"}
    assert not BrandVerification.objects.exists()


def test_legal_names_are_compared_without_case_width_or_spacing() -> None:
    full_width_acme = "\uff21\uff23\uff2d\uff25"  # ACME in full-width letters
    assert legal_name_key(f"  {full_width_acme}   Straße Ltd ") == legal_name_key(
        "acme strasse LTD"
    )


def test_an_operator_confirms_a_claim_by_hand_and_nobody_else_does(
    owner_ivy: Any, ivy_brand: Any
) -> None:
    from django.core.exceptions import PermissionDenied

    claim = brand_domains.brand_verification_start(
        actor=owner_ivy, brand=ivy_brand, legal_name="Ivy Audio GmbH", domain="ivy.example"
    )
    with pytest.raises(PermissionDenied):
        brand_domains.brand_verification_confirm(operator=owner_ivy, verification=claim)
    operator = f.UserFactory(is_staff=True)
    confirmed = brand_domains.brand_verification_confirm(operator=operator, verification=claim)
    assert confirmed.method == "operator" and ivy_brand.verification() == confirmed
    logged = json.loads(bytes(LogEntry.objects.get(event_type="brand.verified").data))
    assert logged["method"] == "operator"


# --- pages --------------------------------------------------------------------------------


def test_the_owner_verifies_on_the_brand_page(
    client: Client, owner_ivy: Any, ivy_brand: Any, dns_stub: Any
) -> None:
    client.force_login(owner_ivy)
    dashboard = client.get("/brands/ivy-audio/").content.decode()
    assert "Not verified" in dashboard and "/brands/ivy-audio/verification/" in dashboard

    page = client.post(
        "/brands/ivy-audio/verification/", {"legal_name": "Ivy Audio GmbH", "domain": "1.2.3.4"}
    ).content.decode()
    assert "not an IP address" in page
    response = client.post(
        "/brands/ivy-audio/verification/",
        {"legal_name": "Ivy Audio GmbH", "domain": "ivy.example"},
        follow=True,
    )
    page = response.content.decode()
    claim = BrandVerification.objects.get()
    assert "_timbre.ivy.example" in page and f"timbre-verification={claim.token}" in page

    page = client.post("/brands/ivy-audio/verification/check/", follow=True).content.decode()
    assert "_timbre.ivy.example does not exist in DNS" in page

    dns_stub.publish(claim.txt_name, claim.txt_value)
    page = client.post("/brands/ivy-audio/verification/check/", follow=True).content.decode()
    assert "Verified: Ivy Audio GmbH, ivy.example" in page
    dashboard = client.get("/brands/ivy-audio/").content.decode()
    assert 'id="brand-verified"' in dashboard and "Ivy Audio GmbH" in dashboard


def test_a_member_sees_the_page_without_the_forms_and_cannot_post(
    client: Client, owner_ivy: Any, ivy_brand: Any, member_jon: Any, brand_hank: Any
) -> None:
    start(owner_ivy, ivy_brand)
    client.force_login(member_jon)
    page = client.get("/brands/ivy-audio/verification/").content.decode()
    assert "_timbre.ivy.example" in page
    assert "Check the DNS record" not in page and "Get the TXT record" not in page
    assert (
        client.post(
            "/brands/ivy-audio/verification/", {"legal_name": "X", "domain": "x.example"}
        ).status_code
        == 403
    )
    assert client.post("/brands/ivy-audio/verification/check/").status_code == 403
    client.force_login(brand_hank)
    assert client.get("/brands/ivy-audio/verification/").status_code == 404
    assert client.post("/brands/ivy-audio/verification/check/").status_code == 404


# --- the e-mail round-trip ------------------------------------------------------------------


def send_link(user: Any, brand: Any, mailbox: str = "webmaster") -> Any:
    return api(user).post(
        f"/api/v1/brands/{brand.pk}/verification/email", {"mailbox": mailbox}, format="json"
    )


def emailed_link(mailoutbox: list[Any]) -> str:
    match = re.search(r"https?://\S+/brands/verify-email/\d+/\S+/", mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    return "/" + match.group(0).split("/", 3)[3]


def test_whoever_reads_the_domains_webmaster_mailbox_confirms_by_following_the_link(
    owner_ivy: Any, ivy_brand: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    start(owner_ivy, ivy_brand)
    with django_capture_on_commit_callbacks(execute=True):
        sent = send_link(owner_ivy, ivy_brand)
    assert sent.status_code == 202, sent.json()
    assert sent.json()["pending"]["email_sent_to"] == "webmaster@ivy.example"
    [email] = mailoutbox
    assert email.to == ["webmaster@ivy.example"]
    assert "Ivy Audio GmbH" in email.body and "ivy.example" in email.body
    link = emailed_link(mailoutbox)
    claim = BrandVerification.objects.get(brand=ivy_brand)
    assert link.split("/")[-2] not in claim.email_secret_sha256  # only its hash is kept

    # Opening the link (a mail scanner does) shows the claim and verifies nothing.
    visitor = Client()
    shown = visitor.get(link)
    assert shown.status_code == 200 and "Confirm: Ivy Audio controls ivy.example" in (
        shown.content.decode()
    )
    assert ivy_brand.verification() is None
    confirmed = visitor.post(link).content.decode()
    assert 'id="confirmed"' in confirmed
    verified = ivy_brand.verification()
    assert verified is not None and verified.method == "email"
    logged = json.loads(bytes(LogEntry.objects.get(event_type="brand.verified").data))
    assert logged["method"] == "email" and logged["domain"] == "ivy.example"
    assert "webmaster" not in bytes(LogEntry.objects.get(event_type="brand.verified").data).decode()
    # A link, once used, is spent.
    assert visitor.post(link).status_code == 400


def test_a_link_that_is_wrong_stale_or_replaced_verifies_nothing(
    owner_ivy: Any,
    ivy_brand: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
    time_machine: Any,
) -> None:
    from django.utils import timezone

    time_machine.move_to(timezone.now(), tick=False)
    start(owner_ivy, ivy_brand)
    with django_capture_on_commit_callbacks(execute=True):
        send_link(owner_ivy, ivy_brand)
    link = emailed_link(mailoutbox)
    tampered = link[:-3] + ("AA/" if not link.endswith("AA/") else "BB/")
    refused = Client().post(tampered)
    assert refused.status_code == 400 and "not valid" in refused.content.decode()

    assert send_link(owner_ivy, ivy_brand).status_code == 400  # not again within a minute
    time_machine.shift(dt.timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        send_link(owner_ivy, ivy_brand, mailbox="admin")
    assert mailoutbox[-1].to == ["admin@ivy.example"]
    assert "a newer one was sent" in Client().post(link).content.decode()  # the first one

    newer = emailed_link(mailoutbox)
    time_machine.shift(dt.timedelta(days=1, minutes=1))
    assert "expired" in Client().post(newer).content.decode()
    assert ivy_brand.verification() is None
    assert not LogEntry.objects.filter(event_type="brand.verified").exists()


def test_only_owners_send_links_and_only_to_administrative_mailboxes(
    owner_ivy: Any, ivy_brand: Any, member_jon: Any, mailoutbox: list[Any]
) -> None:
    assert send_link(owner_ivy, ivy_brand).status_code == 400  # nothing claimed yet
    start(owner_ivy, ivy_brand)
    refused = send_link(owner_ivy, ivy_brand, mailbox="ceo")
    assert refused.status_code == 400 and "admin@" in refused.json()["errors"]["mailbox"][0]
    assert send_link(member_jon, ivy_brand).status_code == 403
    assert mailoutbox == []


def test_the_owner_sends_the_link_from_the_brand_page(
    client: Client,
    owner_ivy: Any,
    ivy_brand: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    start(owner_ivy, ivy_brand)
    client.force_login(owner_ivy)
    page = client.get("/brands/ivy-audio/verification/").content.decode()
    assert "Send the link" in page and 'value="hostmaster"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/brands/ivy-audio/verification/email/", {"mailbox": "hostmaster"}, follow=True
        )
    assert "Sent a link to hostmaster@ivy.example" in response.content.decode()
    assert mailoutbox[0].to == ["hostmaster@ivy.example"]


def test_a_look_alike_legal_name_is_the_same_name_and_a_mixed_script_domain_is_refused(
    db: None,
) -> None:
    """Found by review: punctuation, 'L.L.C.' and a Cyrillic o let a second brand verify
    another's legal name; a domain mixing Latin and Cyrillic letters was accepted."""
    from django.core.exceptions import ValidationError

    from registry import brand_domains

    operator = f.UserFactory(is_staff=True)
    first = f.MembershipFactory(brand__verified=False, role="owner").user
    claim = brand_domains.brand_verification_start(
        actor=first,
        brand=first.brand_memberships.get().brand,
        legal_name="Northwind Coffee Roasters LLC",
        domain="northwind.example",
    )
    brand_domains.brand_verification_confirm(operator=operator, verification=claim)
    other = f.MembershipFactory(brand__verified=False, role="owner").user
    other_brand = other.brand_memberships.get().brand
    for name in (
        "Northwind Coffee Roasters, LLC",
        "Northwind Coffee Roasters L.L.C.",
        "N\u043erthwind Coffee Roasters LLC",  # a Cyrillic o
        "NORTHWIND  coffee roasters llc.",
    ):
        with pytest.raises(ValidationError) as refused:
            brand_domains.brand_verification_start(
                actor=other, brand=other_brand, legal_name=name, domain="other.example"
            )
        assert "legal_name" in refused.value.message_dict, name
    with pytest.raises(ValidationError) as mixed:
        brand_domains.brand_verification_start(
            actor=other,
            brand=other_brand,
            legal_name="Other Coffee Ltd",
            domain="n\u043erthwind.example",
        )
    assert "mixes letters of different scripts" in str(mixed.value)
