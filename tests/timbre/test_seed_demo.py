from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from registry.models import ApiKey, Brand, ConsentRecord, Performer, User, VoiceModel
from timbre.management.commands.seed_demo import DEMO_PASSWORD, PEOPLE

pytestmark = pytest.mark.django_db


def counts() -> list[int]:
    return [m.objects.count() for m in (User, Performer, Brand, VoiceModel, ConsentRecord, ApiKey)]


def test_seed_demo_is_safe_to_run_again() -> None:
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert VoiceModel.objects.filter(status="active").count() == 4
    assert Performer.objects.filter(is_minor=True).count() == 1
    assert Performer.objects.filter(is_living=False).count() == 1


def test_every_demo_account_logs_in_to_its_own_dashboard() -> None:
    call_command("seed_demo")
    expected = {
        "performer": "/studio/",
        "estate": "/studio/",
        "dubber": "/studio/",
        "agent": "/studio/",
        "brand": "/brands/",
        "auditor": "/auditor/",
        "operator": "/",
        "pending": "/studio/",
        "namesake": "/studio/",
        "guardian": "/studio/",
    }
    for role, email in PEOPLE.items():
        client = Client()
        assert client.login(username=email, password=DEMO_PASSWORD), role
        assert client.get("/dashboard/").url.startswith(expected[role]), role
    demo = Client()
    demo.login(username=PEOPLE["operator"], password=DEMO_PASSWORD)
    assert demo.get("/admin/").status_code == 200


def test_the_catalog_shows_the_demo_voices(client: Client) -> None:
    call_command("seed_demo")
    page = client.get("/").content.decode()
    for name in ("June", "Arthur Hale", "Mateo"):
        assert name in page


def test_the_demo_shows_a_delegation_and_consent_terms() -> None:
    from registry.models import ConsentRecord, Delegation

    call_command("seed_demo")
    delegation = Delegation.objects.get()
    assert delegation.performer.slug == "june-calloway"
    assert delegation.powers == ["approve_requests"] and delegation.revoked_at is None
    assert delegation.log_index is not None
    assert not ConsentRecord.objects.filter(expires_at__isnull=True).exists()
    agent = Client()
    agent.login(username=PEOPLE["agent"], password=DEMO_PASSWORD)
    assert "Approve requests" in agent.get("/studio/delegations/").content.decode()


def test_the_demo_has_an_estate_with_a_recorded_death_that_is_paid(client: Client) -> None:
    from registry.models import PerformerDeath
    from royalties.models import Payee, Work

    call_command("seed_demo")
    call_command("seed_demo")
    death = PerformerDeath.objects.get()
    assert (death.performer.stage_name, death.jurisdiction) == ("Arthur Hale", "GB")
    assert death.performer.authorities.get().status == "active"
    estate = Payee.objects.get(performer=death.performer, kind="estate")
    assert estate.user is not None and estate.user.email == PEOPLE["estate"]
    works = Work.objects.filter(license__voice__performer=death.performer)
    assert works.count() == 2
    assert all(w.entry.split["payees"] == [[estate.pk, 10_000]] for w in works)
    voice = VoiceModel.objects.get(performer=death.performer)
    assert "licensed by the estate of Arthur Hale" in client.get(f"/voices/{voice.slug}/").text


def test_the_demo_has_a_verified_brand_and_one_that_has_not_verified_yet() -> None:
    from licensing.models import License

    call_command("seed_demo")
    call_command("seed_demo")
    northwind = Brand.objects.get(name="Northwind Coffee").verification()
    assert northwind is not None and northwind.domain == "northwind.example"
    assert northwind.log_index is not None
    lumen = Brand.objects.get(name="Lumen Games")
    assert lumen.verification() is None
    assert lumen.verifications.get().status == "pending"
    # Northwind's license names its verified legal name; Lumen's (an open offer) does not.
    licensees = {lic.brand.name: lic.document["licensee"] for lic in License.objects.all()}
    assert licensees["Northwind Coffee"]["verified"]["legal_name"] == (
        "Northwind Coffee Roasters LLC"
    )
    assert "verified" not in licensees["Lumen Games"]


def test_the_demo_has_a_union_offer_and_a_minor_with_a_set_aside() -> None:
    from licensing.models import License
    from royalties.models import Account, CooganTrust, Payee, Statement

    call_command("seed_demo")
    union = License.objects.get(offer_version__union_agreement__code="sag-aftra-commercials")
    assert union.works.exists()
    fund = Payee.objects.get(kind=Payee.Kind.UNION, union_agreement__isnull=False)
    assert Statement.objects.get(payee=fund).earnings > 0
    lily = Payee.objects.get(performer__is_minor=True, kind=Payee.Kind.PERFORMER)
    [line] = Statement.objects.get(payee=lily).lines
    assert line["set_aside"] > 0
    assert Account.objects.filter(kind=Account.Kind.MINOR_TRUST, payee=lily).exists()
    assert CooganTrust.objects.get(payee=lily).masked_reference == "•••• 0480"


def test_the_demo_minors_closed_month_has_a_trust_deposit_for_the_operator_to_record() -> None:
    from royalties.models import Payee, Statement, TrustDeposit

    call_command("seed_demo")
    call_command("seed_demo")
    lily = Payee.objects.get(performer__is_minor=True, kind=Payee.Kind.PERFORMER)
    statement = Statement.objects.get(payee=lily)
    [deposit] = TrustDeposit.objects.filter(payee=lily)
    assert deposit.status == TrustDeposit.Status.PENDING
    assert deposit.month == statement.period.month
    assert deposit.amount == statement.lines[0]["set_aside"]
    assert deposit.institution == "Golden State Coogan Trust (demo)"
    client = Client()
    client.force_login(User.objects.get(email=PEOPLE["operator"]))
    page = client.get("/operations/payments/").content.decode()
    assert f'id="trust-deposit-{deposit.pk}"' in page
