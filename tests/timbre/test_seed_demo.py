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
        "brand": "/brands/",
        "auditor": "/auditor/",
        "operator": "/",
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
