"""Where the money goes: a union agreement's pension and health, charged to the brand on
top of the price and paid to the union's fund; and a minor's Coogan set-aside, booked to
a blocked trust account that payouts never draw from. Both are signed, logged, shown on
statements and invoices, taken back exactly by a void, and recomputed offline."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from licensing import services as licensing
from licensing.models import UnionAgreement, UnionMinimum
from payments.invoices import invoices_issue
from payments.models import Invoice, Payout
from payments.payouts import payout_run
from registry import services as registry_services
from registry.models import Performer
from royalties import ledger
from royalties.models import Account, CooganTrust, Payee, Statement, Work
from royalties.services import WorkInput, work_void, works_record
from royalties.statements import compute, period_close
from royalties.trust import coogan_trust, coogan_trust_name
from tests import factories as f
from tests.licensing.helpers import offer_terms
from tests.royalties.helpers import issue, run_statement_check
from transparency.models import LogEntry
from verifier.jcs import parse_json_strict
from verifier.jws import decode_jws

pytestmark = pytest.mark.django_db

# Next year's January and February: months of their own, within the default term of the
# consent the factories give today.
YEAR = date.today().year + 1
JAN = date(YEAR, 1, 1)


def _at(month: int, day: int, hour: int) -> datetime:
    return datetime(YEAR, month, day, hour, tzinfo=UTC)


@pytest.fixture
def sag(db: None) -> UnionAgreement:
    """SAG-AFTRA commercials: at least $15.00 a work, 11% pension & health."""
    agreement = UnionAgreement.objects.create(
        code="sag-aftra-commercials",
        name="SAG-AFTRA Commercials Contract",
        pension_health_bps=1100,
        fund_name="SAG-AFTRA Pension & Health Plans",
    )
    UnionMinimum.objects.create(agreement=agreement, currency="USD", per_work=1500)
    return agreement


def _union_license(voice: Any, brand_user: Any, operator: Any, **terms: Any) -> Any:
    """A license on a union offer: $20.00 a work, nothing else, so sums are easy to read."""
    values = {
        "per_work": 2000,
        "per_second": "0",
        "revenue_share_bps": 0,
        "minimum_guarantee": 0,
        "upfront_fee": 0,
        "max_works": None,
        "max_seconds": None,
        "union_agreement": "sag-aftra-commercials",
    }
    values.update(terms)
    return issue(voice, brand_user, operator, terms=values, media=["tv"], languages=["en-US"])


def _record(lic: Any, refs: list[str]) -> list[Any]:
    items = [
        WorkInput(
            license_id=lic.license_id,
            client_ref=ref,
            content_sha256=hashlib.sha256(ref.encode()).hexdigest(),
            duration_ms=15_000,
            language="en-US",
            territory="US",
            use="advertising",
            medium="tv",
        )
        for ref in refs
    ]
    with transaction.atomic():
        outcomes = works_record(brand=lic.brand, items=items)
    assert all(o.status == "recorded" for o in outcomes), [o.detail for o in outcomes]
    return outcomes


def _balance(kind: str, currency: str = "USD", **owner: Any) -> int:
    found = Account.objects.filter(kind=kind, currency=currency, **owner).first()
    return ledger.balance(found) if found is not None else 0


def _fund(agreement: UnionAgreement) -> Payee:
    return Payee.objects.get(union_agreement=agreement)


def _performer_payee(voice: Any) -> Payee:
    return Payee.objects.get(performer=voice.performer, kind=Payee.Kind.PERFORMER)


# --- union agreements -----------------------------------------------------------------


def test_an_offer_below_the_unions_minimum_fee_is_refused(voice: Any, sag: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        licensing.offer_publish(
            actor=voice.performer.user,
            voice=voice,
            title="Cheap",
            offer_terms=offer_terms(per_work=1499, union_agreement=sag.code),
        )
    assert refused.value.message_dict["per_work"] == [
        "SAG-AFTRA Commercials Contract sets a minimum fee of 1500 USD minor units per work; "
        "this offer pays 1499."
    ]
    with pytest.raises(ValidationError) as euros:
        licensing.offer_publish(
            actor=voice.performer.user,
            voice=voice,
            title="Euros",
            offer_terms=offer_terms(currency="EUR", per_work=5000, union_agreement=sag.code),
        )
    assert "sets no minimum fee in EUR" in euros.value.message_dict["union_agreement"][0]
    with pytest.raises(ValidationError) as unknown:
        licensing.offer_publish(
            actor=voice.performer.user,
            voice=voice,
            title="Unknown",
            offer_terms=offer_terms(per_work=5000, union_agreement="no-such-union"),
        )
    assert "union_agreement" in unknown.value.message_dict
    at_minimum = licensing.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Union scale",
        offer_terms=offer_terms(per_work=1500, union_agreement=sag.code),
    )
    assert at_minimum.current.union_agreement == sag


def test_the_api_refuses_a_union_offer_below_the_minimum_with_a_clear_400(
    voice: Any, sag: Any
) -> None:
    client = APIClient()
    client.force_authenticate(voice.performer.user)
    body = {
        "title": "Ads",
        "uses": ["advertising"],
        "territories": ["US"],
        "languages": ["en"],
        "media": ["tv"],
        "max_term_days": 365,
        "currency": "USD",
        "upfront_fee": 0,
        "per_work": 1000,
        "union_agreement": sag.code,
    }
    refused = client.post(f"/api/v1/voices/{voice.pk}/offers", body, format="json")
    assert refused.status_code == 400, refused.content
    assert "minimum fee of 1500" in refused.json()["errors"]["per_work"][0]
    created = client.post(
        f"/api/v1/voices/{voice.pk}/offers", {**body, "per_work": 1500}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["terms"]["union_agreement"] == {
        "code": sag.code,
        "name": sag.name,
        "pension_health_bps": 1100,
    }


def test_the_signed_license_states_the_agreement_and_its_rate_and_pages_show_the_breakdown(
    voice: Any, brand_bob: Any, operator: Any, sag: Any
) -> None:
    lic = _union_license(voice, brand_bob, operator)
    assert lic.document["royalty"]["union"] == {
        "agreement": "sag-aftra-commercials",
        "name": "SAG-AFTRA Commercials Contract",
        "pension_health_bps": "1100",
    }
    # A later change to the agreement does not change what was signed.
    UnionAgreement.objects.filter(pk=sag.pk).update(pension_health_bps=1500)
    client = Client()
    client.force_login(brand_bob)
    page = client.get(f"/licenses/{lic.license_id}/").content.decode()
    assert 'id="union-price">2000<' in page
    assert 'id="union-ph">220<' in page
    assert 'id="union-total">2220 USD<' in page
    offer_page = client.get(f"/offers/{lic.offer_version.offer_id}/").content.decode()
    assert 'id="union-breakdown"' in offer_page
    # The offer was published at 11%: its requests are asked, and licensed, at 11%; the
    # new rate is for offers published after the change.
    assert "pension &amp; health (11%), on top" in offer_page


def test_a_change_to_the_agreement_does_not_reach_requests_already_made_on_an_offer(
    voice: Any, brand_bob: Any, operator: Any, sag: Any
) -> None:
    """The brand asked at the rate the offer was published with; a later change in the
    admin (even raising the rate and closing the agreement) does not bill it more."""
    from licensing import services as licensing
    from tests.licensing.helpers import request_input

    offer = licensing.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Union spots",
        offer_terms=offer_terms(
            per_work=2000, upfront_fee=0, minimum_guarantee=0, union_agreement=sag.code
        ),
    )
    brand = brand_bob.brand_memberships.get().brand
    req = licensing.request_submit(actor=brand_bob, brand=brand, offer=offer, data=request_input())
    UnionAgreement.objects.filter(pk=sag.pk).update(pension_health_bps=9999, active=False)
    licensing.request_decide(actor=voice.performer.user, request=req, approve=True)
    lic = licensing.license_settle_manually(operator=operator, request=req, invoice_ref="INV")
    assert lic.document["royalty"]["union"]["pension_health_bps"] == "1100"
    assert _record(lic, ["x"])[0].as_json()["pension_health"] == 220


def test_a_union_work_charges_the_brand_on_top_and_pays_the_fund_not_the_performer(
    voice: Any, brand_bob: Any, operator: Any, sag: Any
) -> None:
    lic = _union_license(voice, brand_bob, operator)
    outcomes = _record(lic, ["a", "b", "c"])
    assert outcomes[0].as_json()["pension_health"] == 220
    brand = lic.brand
    fund = _fund(sag)
    assert fund.kind == Payee.Kind.UNION and fund.name == "SAG-AFTRA Pension & Health Plans"
    # 3 works at 2000: the brand owes 6000 + 11% (660); the fund is owed 660; the
    # performer's 90% of the full 6000, the platform's 10%, as without the union.
    assert _balance(Account.Kind.BRAND_RECEIVABLE, brand=brand) == 6660
    assert _balance(Account.Kind.PAYEE_PAYABLE, payee=fund) == -660
    assert _balance(Account.Kind.PAYEE_PAYABLE, payee=_performer_payee(voice)) == -5400
    assert _balance(Account.Kind.PLATFORM_REVENUE) == -600


def test_the_union_offers_invoice_shows_price_plus_pension_and_health(
    voice: Any, brand_bob: Any, operator: Any, sag: Any, time_machine: Any
) -> None:
    time_machine.move_to(_at(1, 5, 9), tick=False)
    lic = _union_license(voice, brand_bob, operator)
    time_machine.move_to(_at(1, 10, 9), tick=False)
    _record(lic, ["a", "b", "c"])
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    [invoice] = invoices_issue(month=JAN)
    [line] = invoice.lines.all()
    assert (invoice.amount, line.amount, line.price, line.pension_health) == (6660, 6660, 6000, 660)
    assert "price 6000 + union pension & health 660" in line.label
    client = Client()
    client.force_login(brand_bob)
    page = client.get(f"/brands/{lic.brand.slug}/billing/").content.decode()
    assert 'price <span class="num">6000</span> + union pension &amp; health' in page
    assert '<span class="num">660</span> = <span class="num">6660</span> USD' in page
    assert Invoice.objects.count() == 1


def test_statements_show_the_performers_full_price_and_the_funds_contributions(
    voice: Any, brand_bob: Any, operator: Any, sag: Any, time_machine: Any
) -> None:
    time_machine.move_to(_at(1, 5, 9), tick=False)
    lic = _union_license(voice, brand_bob, operator)
    time_machine.move_to(_at(1, 10, 9), tick=False)
    _record(lic, ["a", "b", "c"])
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    performer = Statement.objects.get(payee=_performer_payee(voice))
    [line] = performer.lines
    assert (line["works"], line["gross"], line["fee"], line["amount"]) == (3, 6000, 600, 5400)
    union = Statement.objects.get(payee=_fund(sag))
    [contribution] = union.lines
    assert (contribution["works"], contribution["gross"], contribution["amount"]) == (3, 6000, 660)
    assert union.earnings == 660
    staff = Client()
    staff.force_login(operator)
    page = staff.get(f"/statements/{_fund(sag).pk}/{YEAR}-01/USD/").content.decode()
    assert "Pension &amp; health contributions" in page


def test_voiding_a_union_work_takes_the_pension_and_health_back(
    voice: Any, brand_bob: Any, operator: Any, sag: Any
) -> None:
    lic = _union_license(voice, brand_bob, operator, per_work=1999)
    _, voided = _record(lic, ["kept", "voided"])
    with transaction.atomic():
        work_void(brand=lic.brand, work_id=voided.work_id)
    # 1999 * 11% = 219.89, rounded half up once per work: 220.
    assert _balance(Account.Kind.BRAND_RECEIVABLE, brand=lic.brand) == 1999 + 220
    assert _balance(Account.Kind.PAYEE_PAYABLE, payee=_fund(sag)) == -220


# --- Coogan ---------------------------------------------------------------------------


def _minor(voice: Any) -> Any:
    """The performer is a minor when the works are booked; returns their guardian (with
    verified authority), who acts for them."""
    Performer.objects.filter(pk=voice.performer_id).update(is_minor=True)
    voice.performer.refresh_from_db()
    guardian = voice.performer.authorities.filter(kind="guardian").first()
    if guardian is None:
        guardian = f.AuthorityFactory(
            performer=voice.performer,
            kind="guardian",
            representative__user__email="rosa@example.com",
        )
    return guardian.representative.user


def _plain_license(voice: Any, brand_user: Any, operator: Any) -> Any:
    return _union_license(voice, brand_user, operator, union_agreement="")


def test_a_minors_set_aside_is_booked_to_a_blocked_trust_and_shown_on_the_statement(
    voice: Any, brand_bob: Any, operator: Any, time_machine: Any
) -> None:
    time_machine.move_to(_at(1, 5, 9), tick=False)
    lic = _plain_license(voice, brand_bob, operator)
    guardian = _minor(voice)
    time_machine.move_to(_at(1, 10, 9), tick=False)
    _record(lic, ["a", "b", "c"])
    payee = _performer_payee(voice)
    # Each work: 2000, the platform 200, the performer's 1800, of which 15% (270) is set
    # aside: 1530 to the balance that payouts pay, 270 to the trust.
    assert _balance(Account.Kind.PAYEE_PAYABLE, payee=payee) == -4590
    assert _balance(Account.Kind.MINOR_TRUST, payee=payee) == -810
    assert _balance(Account.Kind.BRAND_RECEIVABLE, brand=lic.brand) == 6000
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    stored = Statement.objects.get(payee=payee)
    [line] = stored.lines
    assert (line["gross"], line["amount"], line["set_aside"]) == (6000, 4590, 810)
    assert stored.earnings == 4590
    coogan_trust_name(
        actor=guardian,
        payee=payee,
        institution="First Coogan Trust Bank",
        reference="CT-000012345678",
    )
    client = Client()
    client.force_login(voice.performer.user)
    page = client.get(f"/statements/{payee.pk}/{YEAR}-01/USD/").content.decode()
    assert 'id="set-aside">810<' in page
    assert "Set aside in trust (Coogan)" in page
    assert "First Coogan Trust Bank, account •••• 5678" in page
    assert "CT-000012345678" not in page
    csv = b"".join(client.get(f"/statements/{payee.pk}/{YEAR}-01/USD.csv").streaming_content)
    assert b"set aside in trust (Coogan),810" in csv
    assert client.get(f"/statements/{payee.pk}/{YEAR}-01/USD.pdf").status_code == 200
    earnings = client.get("/studio/earnings/").content.decode()
    assert 'Held in trust: <strong class="amount">810</strong> USD' in earnings
    assert "CT-000012345678" not in earnings


def test_the_set_aside_is_never_paid_out(
    voice: Any, brand_bob: Any, operator: Any, time_machine: Any
) -> None:
    time_machine.move_to(_at(1, 5, 9), tick=False)
    lic = _plain_license(voice, brand_bob, operator)
    _minor(voice)
    time_machine.move_to(_at(1, 10, 9), tick=False)
    _record(lic, ["a", "b", "c"])
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    payout_run(month=JAN)
    payee = _performer_payee(voice)
    [payout] = Payout.objects.filter(payee=payee)
    assert payout.amount == 4590
    assert coogan_trust(payee, "USD").held == 810


def test_voiding_a_minors_work_takes_the_set_aside_back_exactly(
    voice: Any, brand_bob: Any, operator: Any, sag: Any
) -> None:
    lic = _union_license(voice, brand_bob, operator, per_work=1999)
    _minor(voice)
    _, voided = _record(lic, ["kept", "voided"])
    with transaction.atomic():
        work_void(brand=lic.brand, work_id=voided.work_id)
    payee = _performer_payee(voice)
    # 1999: the platform 200, the performer 1799, 15% of it 269.85 -> 270 set aside.
    assert _balance(Account.Kind.MINOR_TRUST, payee=payee) == -270
    assert _balance(Account.Kind.PAYEE_PAYABLE, payee=payee) == -(1799 - 270)
    assert _balance(Account.Kind.PAYEE_PAYABLE, payee=_fund(sag)) == -220
    assert _balance(Account.Kind.BRAND_RECEIVABLE, brand=lic.brand) == 1999 + 220


def test_only_the_guardian_names_the_trust(
    voice: Any, brand_bob: Any, outsider_carol: Any, agent_gina: Any
) -> None:
    """Where a child's money goes is the guardian's to say: not an outsider's, not an
    agent's (verified authority or not), not the minor's own account."""
    guardian = _minor(voice)
    payee = Payee.objects.create(kind=Payee.Kind.PERFORMER, name="Alice", performer=voice.performer)
    from django.core.exceptions import PermissionDenied

    for someone in (outsider_carol, agent_gina, voice.performer.user):
        with pytest.raises(PermissionDenied):
            coogan_trust_name(actor=someone, payee=payee, institution="Bank", reference="123456")
    with pytest.raises(ValidationError) as short:
        coogan_trust_name(actor=guardian, payee=payee, institution="Bank", reference="12")
    assert "reference" in short.value.message_dict
    client = Client()
    client.force_login(guardian)
    # Control characters and over-long input are refused whole, never cut short.
    for bad in (
        {"institution": "B\x00ank", "reference": "ACCT-998877"},
        {"institution": "Coogan Savings", "reference": "\x00\x00\x00\x00\x00"},
        {"institution": "Coogan Savings", "reference": "9" * 100_000},
    ):
        client.post(f"/studio/earnings/trust/{payee.pk}/", bad)
        assert not CooganTrust.objects.exists()
    response = client.post(
        f"/studio/earnings/trust/{payee.pk}/",
        {"institution": "Coogan Savings", "reference": "ACCT-998877"},
    )
    assert response.status_code == 302
    assert CooganTrust.objects.get(payee=payee).masked_reference == "•••• 8877"


# --- offline ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_offline_checker_recomputes_statements_with_pension_health_and_set_aside(
    voice: Any,
    brand_bob: Any,
    operator: Any,
    auditor_ada: Any,
    live_server: Any,
    tmp_path: Path,
    time_machine: Any,
) -> None:
    agreement = UnionAgreement.objects.create(
        code="sag-aftra-interactive",
        name="SAG-AFTRA Interactive Media Agreement",
        pension_health_bps=1175,
        fund_name="SAG-AFTRA Pension & Health Plans",
    )
    UnionMinimum.objects.create(agreement=agreement, currency="USD", per_work=1000)
    time_machine.move_to(_at(1, 5, 9), tick=False)
    registry_services.audit_grant_give(
        actor=voice.performer.user, performer=voice.performer, auditor_email="ada@example.com"
    )
    key = tmp_path / "auditor.key"
    key.write_text(
        registry_services.api_key_create(
            actor=auditor_ada, owner=auditor_ada.auditor, name="statements"
        )[1]
    )
    lic = _union_license(
        voice,
        brand_bob,
        operator,
        per_work=1333,
        per_second="0.777777",
        union_agreement=agreement.code,
    )
    _minor(voice)
    time_machine.move_to(_at(1, 10, 9), tick=False)
    outcomes = _record(lic, [f"w{n}" for n in range(5)])
    time_machine.move_to(_at(1, 10, 10), tick=False)
    with transaction.atomic():
        work_void(brand=lic.brand, work_id=outcomes[2].work_id)
    time_machine.move_to(_at(2, 1, 1), tick=False)
    period_close(month=JAN)
    performer = Statement.objects.get(payee=_performer_payee(voice))
    fund = Statement.objects.get(payee=_fund(agreement))
    assert performer.lines[0]["set_aside"] > 0 and fund.earnings > 0
    signed = parse_json_strict(decode_jws(performer.jws).payload_bytes)
    assert signed["lines"][0]["set_aside"] == str(performer.lines[0]["set_aside"])
    # The log says how each work was split: the set-aside and the union's fund with it.
    logged = [
        parse_json_strict(bytes(e.data))
        for e in LogEntry.objects.order_by("index")
        if b'"work.recorded"' in bytes(e.data)
    ]
    assert logged[0]["split"]["set_aside"] == [[str(_performer_payee(voice).pk), "1500"]]
    assert logged[0]["split"]["pension_health"] == [str(_fund(agreement).pk), "1175"]
    for stored in (performer, fund):
        assert (
            run_statement_check(live_server.url, stored.jws, tmp_path, "--key-file", str(key)) == 0
        ), stored
    # The union's statement is what the registry computes from the ledger alone.
    assert compute(_fund(agreement), JAN, "USD").earnings == fund.earnings


def test_a_refund_taken_back_from_a_minors_fee_gives_back_the_set_aside_in_proportion(
    voice: Any, brand_bob: Any, operator: Any
) -> None:
    """A refunded upfront fee comes back leg by leg as it was booked: the minor's trust
    gives back its part, and the payee's leg says how much of its set-aside went."""
    lic = _plain_license(voice, brand_bob, operator)
    _minor(voice)
    from royalties.splits import split_basis

    accounts = ledger.Accounts()
    basis = split_basis(voice)
    entry = ledger.post(
        kind=ledger.Kind.FEE,
        source="demo-fee",
        currency="USD",
        memo="fee",
        lines=[
            ledger.Line(ledger.account(Account.Kind.CASH, "USD"), 10_001, lic),
            *ledger.split_lines([10_001], basis=basis, currency="USD", lic=lic, accounts=accounts),
        ],
        split=basis,
    )
    payee = _performer_payee(voice)
    assert _balance(Account.Kind.MINOR_TRUST, payee=payee) == -1350  # 15% of 9001 = 1350.15
    legs = list(entry.postings.exclude(account__kind=Account.Kind.CASH).select_related("account"))
    for before, after in ((0, 4_000), (4_000, 10_001)):
        back = ledger.split_taken_back(legs, before=before, after=after, lic=lic)
        ledger.post(
            kind=ledger.Kind.FEE_REFUND,
            source=f"demo-refund-{after}",
            currency="USD",
            memo="refund",
            lines=[
                ledger.Line(ledger.account(Account.Kind.CASH, "USD"), before - after, lic),
                *back,
            ],
        )
    # Taken back in two parts, every unit comes back, and the statement's set-aside with it.
    assert _balance(Account.Kind.MINOR_TRUST, payee=payee) == 0
    assert _balance(Account.Kind.PAYEE_PAYABLE, payee=payee) == 0
    [line] = compute(payee, date.today().replace(day=1), "USD").lines
    assert (line["amount"], line["set_aside"]) == (0, 0)


def test_a_performer_picks_the_agreement_on_the_offer_form(voice: Any, sag: Any) -> None:
    client = Client()
    client.force_login(voice.performer.user)
    form = {
        "title": "Union ads",
        "uses": ["advertising"],
        "media": ["tv"],
        "territories": "US",
        "languages": "en",
        "max_term_days": 365,
        "currency": "USD",
        "upfront_fee": 0,
        "per_work": 1000,
        "per_second": "0",
        "revenue_share_bps": 0,
        "minimum_guarantee": 0,
        "union_agreement": sag.code,
    }
    url = f"/studio/voices/{voice.slug}/offers/new/"
    refused = client.post(url, form)
    assert refused.status_code == 200
    assert "sets a minimum fee of 1500 USD minor units per work" in refused.content.decode()
    assert client.post(url, {**form, "per_work": 1500}).status_code == 302
    assert voice.offers.get().current.union_agreement == sag


def test_a_won_dispute_restores_the_set_aside_with_the_rest(
    voice: Any, brand_bob: Any, operator: Any
) -> None:
    """A minor's upfront fee is charged back, then the dispute is won: the statement's
    set-aside and the trust's balance agree again (nothing of it dropped)."""
    from django.db import transaction
    from django.utils import timezone

    from core.months import month_start
    from licensing import services as licensing
    from payments import fees, reversals
    from payments.models import FeePayment
    from royalties.statements import compute
    from tests.licensing.helpers import request_input

    offer = licensing.offer_publish(
        actor=voice.performer.user,
        voice=voice,
        title="Fee",
        offer_terms=offer_terms(upfront_fee=10_001, minimum_guarantee=0, per_work=200),
    )
    brand = brand_bob.brand_memberships.get().brand
    req = licensing.request_submit(actor=brand_bob, brand=brand, offer=offer, data=request_input())
    licensing.request_decide(actor=voice.performer.user, request=req, approve=True)
    req.refresh_from_db()
    _minor(voice)
    lic = fees.fee_settle_manually(operator=operator, request=req, reference="BANK-1")
    FeePayment.objects.filter(license=lic).update(charge_id="ch_x")
    payee = _performer_payee(voice)
    month = month_start(timezone.now().date())
    [before] = compute(payee, month, "USD").lines
    assert before["set_aside"] == _balance(Account.Kind.MINOR_TRUST, payee=payee) * -1 > 0
    dispute = {"id": "dp_x", "charge": "ch_x", "amount": 10_001}
    with transaction.atomic():
        reversals.dispute_created({**dispute, "status": "needs_response"}, {})
    with transaction.atomic():
        reversals.dispute_closed({**dispute, "status": "won"}, {})
    [after] = compute(payee, month, "USD").lines
    assert after["set_aside"] == before["set_aside"]
    assert after["set_aside"] == -_balance(Account.Kind.MINOR_TRUST, payee=payee)


def test_a_work_costing_more_than_any_real_fee_is_refused_not_overflowed(
    voice: Any, brand_bob: Any, operator: Any, sag: Any
) -> None:
    """Found by review: huge prices with pension and health on top overflowed the brand's
    64-bit balance. Amounts are capped, and so is what one work may cost."""
    from django.db import transaction

    from core.money import MAX_AMOUNT

    lic = _union_license(voice, brand_bob, operator, per_work=MAX_AMOUNT)
    item = WorkInput(
        license_id=lic.license_id,
        client_ref="huge",
        content_sha256="ab" * 32,
        duration_ms=15_000,
        language="en-US",
        territory="US",
        use="advertising",
        medium="tv",
    )
    with transaction.atomic():
        [outcome] = works_record(brand=lic.brand, items=[item])
    assert outcome.status == "rejected" and outcome.reason == "price_too_large"
    assert not Work.objects.exists()
    client = APIClient()
    client.force_authenticate(voice.performer.user)
    body = {
        "title": "Ads",
        "uses": ["advertising"],
        "territories": ["US"],
        "languages": ["en"],
        "media": ["tv"],
        "max_term_days": 365,
        "currency": "USD",
        "upfront_fee": 0,
        "per_work": MAX_AMOUNT + 1,
    }
    refused = client.post(f"/api/v1/voices/{voice.pk}/offers", body, format="json")
    assert refused.status_code == 400 and "per_work" in refused.json()["errors"]


def test_an_agreements_minimum_is_in_a_currency_the_registry_uses(sag: Any) -> None:
    """Found by review: the admin took 'usd' or an invented code, and USD offers on the
    agreement were then refused for want of a USD minimum."""
    for bad in ("usd", "XYZ", ""):
        with pytest.raises(ValidationError) as refused:
            UnionMinimum(agreement=sag, currency=bad, per_work=1000).full_clean()
        assert "currency" in refused.value.message_dict
    UnionMinimum(agreement=sag, currency="EUR", per_work=1000).full_clean()
