"""Demo data for a newcomer to look around: fictional people, brands and voices.

Safe to run again: everything is looked up by a natural key first.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.months import previous_month
from registry import services
from registry.models import (
    Auditor,
    Authority,
    Brand,
    BrandMembership,
    Performer,
    Representative,
    User,
    VoiceModel,
)
from transparency.services import checkpoint_sign

DEMO_PASSWORD = "timbre-demo"  # noqa: S105 — fictional demo accounts, printed in the README

PEOPLE = {
    "performer": "june@demo.timbre",
    "estate": "estate@demo.timbre",
    "dubber": "mateo@demo.timbre",
    "agent": "agent@demo.timbre",
    "brand": "brand@demo.timbre",
    "auditor": "auditor@demo.timbre",
    "operator": "operator@demo.timbre",
    "pending": "priya@demo.timbre",
    "namesake": "june.c@demo.timbre",
    "guardian": "guardian@demo.timbre",
}


class _Upload(io.BytesIO):
    """Bytes in memory with the size an uploaded file has (the registry checks it)."""

    @property
    def size(self) -> int:
        return len(self.getvalue())


def _tone(freq: float, seconds: float = 1.5, rate: int = 16000) -> _Upload:
    """A short sine tone as WAV: a stand-in sample that needs no audio files in the repo."""
    buf = _Upload()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
            for i in range(int(seconds * rate))
        )
        wav.writeframes(frames)
    buf.seek(0)
    return buf


def _pdf(text: str) -> _Upload:
    return _Upload(b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF\n")


class Command(BaseCommand):
    help = "Load fictional demo performers, brands, voices and one account per role."

    def _user(self, key: str, name: str, **extra: Any) -> User:
        user = User.objects.filter(email=PEOPLE[key]).first()
        if user is None:
            user = User.objects.create_user(PEOPLE[key], DEMO_PASSWORD, display_name=name, **extra)
        return user

    def _identity(self, performer: Performer, operator: User | None) -> None:
        """The performer submits the identity evidence (a recording of the challenge, an
        ID document); the operator verifies it, or (``operator`` None) it waits in the
        queue on /operations/identity/."""
        from registry import identity

        user = performer.user
        assert user is not None
        status = identity.identity_status(performer)
        if status.state == "unverified":
            challenge = identity.identity_challenge_issue(actor=user, performer=performer)
            identity.identity_submit(
                actor=user,
                performer=performer,
                challenge_id=challenge.pk,
                recording=_tone(440.0, seconds=3.0),
                document=_pdf(f"Passport of {performer.legal_name} (fictional)"),
            )
            status = identity.identity_status(performer)
        if operator is not None and status.state == "pending" and status.latest is not None:
            identity.identity_decide(operator=operator, submission=status.latest, approve=True)
            performer.refresh_from_db()

    def _voice(self, actor: User, performer: Performer, name: str, **fields: Any) -> VoiceModel:
        digest = hashlib.sha256(f"timbre-demo-model:{performer.slug}:{name}".encode()).hexdigest()
        voice = VoiceModel.objects.filter(model_sha256=digest).first()
        if voice is None:
            sample = _tone(fields.pop("tone"))
            voice = services.voice_register(
                actor=actor,
                performer=performer,
                data=services.VoiceInput(
                    display_name=name,
                    model_sha256=digest,
                    sample_audio=sample,
                    sample_name=f"{performer.slug}.wav",
                    **fields,
                ),
            )
        if voice.current_consent() is None:
            services.consent_give(
                actor=actor,
                voice=voice,
                statement_version=services.CONSENT_STATEMENT_VERSION,
                ip_address="127.0.0.1",
                user_agent="seed_demo",
            )
        if voice.status == VoiceModel.Status.DRAFT and performer.identity_standing():
            services.voice_set_status(actor=actor, voice=voice, status="active", reason="demo")
        return voice

    def _represented(
        self, operator: User, rep: Representative, stage_name: str, **fields: Any
    ) -> Authority:
        """A performer a representative recorded, with the authority an operator verified
        (as the registry's own pages do it; found again on a second run)."""
        authority = Authority.objects.filter(
            representative=rep, performer__stage_name=stage_name
        ).first()
        if authority is None:
            authority = services.represented_performer_add(
                representative=rep, stage_name=stage_name, **fields
            )
        if authority.status == Authority.Status.PENDING:
            services.authority_verify(authority=authority, operator=operator)
        return authority

    def _delegation(self, operator: User, june: User, june_p: Performer) -> None:
        """June's agent, verified, to whom June delegated approving license requests for
        three months (offers and splits stay June's own)."""
        from datetime import timedelta

        from django.utils import timezone

        from registry.models import Delegation

        agent = self._user("agent", "Sam Okafor")
        rep, _ = Representative.objects.get_or_create(
            user=agent, defaults={"organisation": "Okafor Talent"}
        )
        authority = Authority.objects.filter(representative=rep, performer=june_p).first()
        if authority is None:
            authority = Authority.objects.create(
                representative=rep,
                performer=june_p,
                kind=Authority.Kind.AGENT,
                evidence_sha256=hashlib.sha256(b"demo agency agreement").hexdigest(),
                evidence_description="Agency agreement (demo)",
            )
            authority.evidence.save("agency-agreement.pdf", File(_pdf("Agency agreement (demo)")))
        if authority.status == Authority.Status.PENDING:
            services.authority_verify(authority=authority, operator=operator)
        if not Delegation.objects.filter(performer=june_p, representative=rep).exists():
            services.delegation_grant(
                actor=june,
                performer=june_p,
                representative=rep,
                powers=[Delegation.Power.APPROVE_REQUESTS],
                ends_on=timezone.now().date() + timedelta(days=90),
            )

    def _estate(self, operator: User, executor: User, arthur: Performer) -> None:
        """The operator records Arthur Hale's death, with the estate as his payee."""
        from datetime import date

        from registry.models import PerformerDeath
        from royalties.estates import Heir, performer_record_death

        if PerformerDeath.objects.filter(performer=arthur).exists():
            return
        performer_record_death(
            operator=operator,
            performer=arthur,
            date_of_death=date(2019, 6, 14),
            jurisdiction="GB",
            evidence=_pdf("Grant of probate, Estate of Arthur Hale (fictional)"),
            evidence_name="grant-of-probate.pdf",
            heirs=[Heir(name="Estate of Arthur Hale", bps=10_000, email=executor.email)],
        )

    def _brand_verifications(self, owner: User, operator: User) -> None:
        """Northwind Coffee is a verified brand; Lumen Games has claimed its domain and has
        yet to publish the TXT record (its page shows the record); Atlas is not verified.

        Demo domains (.example) are in nobody's DNS, so the operator confirms Northwind's
        claim by hand, as the admin's "confirm" action does; real brands publish the record.
        """
        from registry import brand_domains

        northwind = Brand.objects.get(name="Northwind Coffee")
        if northwind.verification() is None:
            claim = brand_domains.brand_verification_start(
                actor=owner,
                brand=northwind,
                legal_name="Northwind Coffee Roasters LLC",
                domain="northwind.example",
            )
            brand_domains.brand_verification_confirm(operator=operator, verification=claim)
        lumen = Brand.objects.get(name="Lumen Games")
        if not lumen.verifications.exists():
            brand_domains.brand_verification_start(
                actor=owner,
                brand=lumen,
                legal_name="Lumen Games S.L.",
                domain="lumen-games.example",
            )

    def _licensing(self, operator: User) -> None:
        """Offers and licenses, through the services, as people would make them."""
        from datetime import date, timedelta

        from licensing import services as licensing
        from licensing.models import LicenseRequest, Offer

        def offer(voice_slug: str, actor_key: str, title: str, **terms: Any) -> Offer:
            voice = VoiceModel.objects.get(slug=voice_slug)
            existing = Offer.objects.filter(voice=voice, title=title).first()
            if existing:
                return existing
            actor = User.objects.get(email=PEOPLE[actor_key])
            return licensing.offer_publish(
                actor=actor, voice=voice, title=title, offer_terms=licensing.OfferTerms(**terms)
            )

        june = offer(
            "june-porch-light",
            "performer",
            "Radio & online ads, North America",
            uses=["advertising", "podcast"],
            territories=["US", "CA"],
            languages=["en"],
            media=["radio", "online_video", "podcast", "streaming_audio"],
            max_term_days=365,
            currency="USD",
            upfront_fee=250_000,
            per_work=500,
            per_second="0.5",
            revenue_share_bps=100,
            minimum_guarantee=10_000,
            excluded_content=["political"],
        )
        mateo = offer(
            "mateo-doblaje",
            "dubber",
            "Game dubbing, worldwide",
            uses=["dubbing", "video_game"],
            territories=["WORLD"],
            languages=["es", "en-US"],
            media=["in_game", "online_video"],
            max_term_days=730,
            currency="EUR",
            upfront_fee=0,
            per_work=25,
            requires_approval=False,
            # Open to brands that have not verified a domain (Lumen Games among them).
            verified_brands_only=False,
        )
        arthur = offer(
            "arthur-hale-velvet",
            "estate",
            "Exclusive film trailers, UK",
            uses=["film_tv", "advertising"],
            territories=["GB"],
            languages=["en-GB"],
            media=["cinema", "tv"],
            max_term_days=1095,
            currency="GBP",
            upfront_fee=1_500_000,
            per_work=10_000,
            exclusive=True,
        )
        brand_user = User.objects.get(email=PEOPLE["brand"])
        northwind = Brand.objects.get(name="Northwind Coffee")
        lumen = Brand.objects.get(name="Lumen Games")
        today = date.today()

        def request(brand: Brand, target: Offer, campaign: str, **data: Any) -> LicenseRequest:
            existing = LicenseRequest.objects.filter(brand=brand, campaign=campaign).first()
            if existing:
                return existing
            values = {
                "product": "Demo product",
                "script_summary": f"{campaign}: demo script summary.",
                "valid_from": today,
                "valid_until": today + timedelta(days=180),
                **data,
            }
            return licensing.request_submit(
                actor=brand_user,
                brand=brand,
                offer=target,
                data=licensing.RequestInput(campaign=campaign, **values),
            )

        last_month = previous_month(today)
        morning = request(
            northwind,
            june,
            "Morning Ritual radio spots",
            uses=["advertising"],
            territories=["US"],
            languages=["en-US"],
            media=["radio", "streaming_audio"],
            valid_from=last_month,
        )
        if morning.status == LicenseRequest.Status.SUBMITTED:
            licensing.request_decide(
                actor=User.objects.get(email=PEOPLE["performer"]),
                request=morning,
                approve=True,
                note="Happy to voice Northwind.",
            )
            morning.refresh_from_db()
        if morning.status == LicenseRequest.Status.AWAITING_PAYMENT:
            from payments.fees import fee_settle_manually

            fee_settle_manually(operator=operator, request=morning, reference="DEMO-0001")
        skyforge = request(
            lumen,
            mateo,
            "Skyforge Spanish dub",
            uses=["dubbing", "video_game"],
            territories=["WORLD"],
            languages=["es-419"],
            media=["in_game"],
        )
        heritage = request(
            northwind,
            arthur,
            "Heritage blend cinema spot",
            uses=["advertising"],
            territories=["GB"],
            languages=["en-GB"],
            media=["cinema"],
        )
        # The estate's executor approves (Arthur's own voice cannot), the brand pays, and
        # the works recorded under it are the estate's (seen on its statement).
        if heritage.status == LicenseRequest.Status.SUBMITTED:
            licensing.request_decide(
                actor=User.objects.get(email=PEOPLE["estate"]),
                request=heritage,
                approve=True,
                note="The estate approves.",
            )
            heritage.refresh_from_db()
        if heritage.status == LicenseRequest.Status.AWAITING_PAYMENT:
            from payments.fees import fee_settle_manually

            fee_settle_manually(operator=operator, request=heritage, reference="DEMO-0002")
            heritage.refresh_from_db()

        union_offer = offer(
            "june-porch-light",
            "performer",
            "Union TV commercials, US",
            uses=["advertising"],
            territories=["US"],
            languages=["en"],
            media=["tv", "online_video"],
            max_term_days=365,
            currency="USD",
            upfront_fee=0,
            per_work=2_000,
            requires_approval=False,
            union_agreement=self._union_agreement().code,
        )
        union_tv = request(
            northwind,
            union_offer,
            "Morning Ritual TV spots (union)",
            uses=["advertising"],
            territories=["US"],
            languages=["en-US"],
            media=["tv"],
            valid_from=last_month,
        )
        minor_offer = offer(
            "lily-bright-spark",
            "guardian",
            "Online ads and e-learning, US",
            uses=["advertising", "e_learning"],
            territories=["US"],
            languages=["en"],
            media=["online_video", "e_learning"],
            max_term_days=365,
            currency="USD",
            upfront_fee=0,
            per_work=1_200,
            requires_approval=False,
        )
        minor_ads = request(
            northwind,
            minor_offer,
            "Morning Ritual kids' explainer",
            uses=["advertising"],
            territories=["US"],
            languages=["en-US"],
            media=["online_video"],
            valid_from=last_month,
        )

        self._works(morning, skyforge, last_month, extra=[union_tv, minor_ads])
        cinema = {"language": "en-GB", "territory": "GB", "use": "advertising", "medium": "cinema"}
        self._record(getattr(heritage, "license", None), "heritage-cinema", 2, None, **cinema)

    def _union_agreement(self) -> Any:
        """A union agreement operators configured in the admin (demo rates)."""
        from licensing.models import UnionAgreement, UnionMinimum

        agreement, _ = UnionAgreement.objects.get_or_create(
            code="sag-aftra-commercials",
            defaults={
                "name": "SAG-AFTRA Commercials Contract (demo rates)",
                "pension_health_bps": 1100,
                "fund_name": "SAG-AFTRA Pension & Health Plans",
            },
        )
        UnionMinimum.objects.get_or_create(
            agreement=agreement, currency="USD", defaults={"per_work": 1_500}
        )
        return agreement

    def _minor(self, operator: User) -> None:
        """Lily, a minor, whose guardian acts for her: a share of her earnings is set
        aside in a blocked trust account (Coogan), paid to the trust her guardian names."""
        guardian = self._user("guardian", "Rosa Moss (guardian of Lily Moss)")
        rep, _ = Representative.objects.get_or_create(
            user=guardian, defaults={"organisation": "Guardian of Lily Moss"}
        )
        from datetime import date

        from django.utils import timezone

        today = timezone.now().date()
        authority = self._represented(
            operator,
            rep,
            "Lily Moss",
            # Twelve: her guardian's consent ends on her 18th birthday.
            date_of_birth=date(today.year - 12, 3, 14),
            legal_name="Lily Anne Moss",
            bio="Twelve-year-old voice actor: bright, curious, a natural storyteller.",
            is_living=True,
            is_minor=True,
            kind=Authority.Kind.GUARDIAN,
            evidence=_pdf("Birth certificate and guardianship order (fictional)"),
            evidence_name="guardianship.pdf",
            evidence_description="Guardianship order (demo)",
        )
        self._voice(
            guardian,
            authority.performer,
            "Lily — Bright Spark",
            tone=440.0,
            description="A bright, curious young voice for explainers and kids' learning.",
            languages=["en-US"],
            styles=["bright", "young", "curious"],
            uses=["advertising", "e_learning"],
            provider="ElevenLabs",
            provider_ref="demo-lily-brightspark",
        )

    def _trust_named(self) -> None:
        from royalties.models import Payee
        from royalties.trust import coogan_trust_name

        guardian = User.objects.get(email=PEOPLE["guardian"])
        for payee in Payee.objects.filter(
            kind=Payee.Kind.PERFORMER, performer__stage_name="Lily Moss", coogan_trust=None
        ):
            coogan_trust_name(
                actor=guardian,
                payee=payee,
                institution="Golden State Coogan Trust (demo)",
                reference="CT-DEMO-20480",
            )

    def _works(self, morning: Any, skyforge: Any, last_month: Any, extra: Any = ()) -> None:
        """Works under the demo licenses, last month (then closed) and this month."""
        from datetime import UTC, datetime

        from royalties.statements import period_close

        record = self._record

        radio = {"language": "en-US", "territory": "US", "use": "advertising", "medium": "radio"}
        mid_last_month = datetime(last_month.year, last_month.month, 15, 12, tzinfo=UTC)
        record(
            getattr(morning, "license", None), "northwind-radio-oct", 24, mid_last_month, **radio
        )
        # Under the union offer (pension & health on top) and on the minor's voice (part of
        # her share set aside in trust): both on last month's closed statements.
        union_tv, minor_ads = extra
        tv = {**radio, "medium": "tv"}
        record(getattr(union_tv, "license", None), "northwind-union-tv", 6, mid_last_month, **tv)
        online = {**radio, "medium": "online_video"}
        record(getattr(minor_ads, "license", None), "northwind-lily", 20, mid_last_month, **online)
        self._trust_named()
        period_close(month=last_month)
        # Last month's usage invoice and payouts, left for the operator to settle by hand
        # on /operations/payments/ (the manual backend's money loop).
        from payments.invoices import invoices_issue
        from payments.models import Payout
        from payments.payouts import payout_run
        from royalties.models import TrustDeposit

        invoices_issue(month=last_month)
        # The run also makes Lily's trust deposit (her set-aside, into the trust her
        # guardian named), left pending for the operator to record. Run again only where
        # a database seeded before trust deposits existed lacks it.
        if (
            not Payout.objects.filter(month=last_month).exists()
            or not TrustDeposit.objects.filter(month=last_month).exists()
        ):
            payout_run(month=last_month)
        self._statement_files(last_month)
        record(getattr(morning, "license", None), "northwind-radio-now", 9, None, **radio)
        game = {"language": "es-419", "territory": "MX", "use": "video_game", "medium": "in_game"}
        record(getattr(skyforge, "license", None), "skyforge-line", 40, None, **game)

    def _record(self, lic: Any, prefix: str, count: int, at: Any, **fields: Any) -> None:
        from django.db import transaction as db_transaction

        from royalties import services as royalties

        if lic is None or lic.works.filter(client_ref__startswith=prefix).exists():
            return
        items = [
            royalties.WorkInput(
                license_id=lic.license_id,
                client_ref=f"{prefix}-{n}",
                content_sha256=hashlib.sha256(f"{prefix}-{n}".encode()).hexdigest(),
                duration_ms=15_000 + 1_000 * (n % 16),
                title=f"{prefix} #{n}",
                **fields,
            )
            for n in range(count)
        ]
        with db_transaction.atomic():
            royalties.works_record(brand=lic.brand, items=items, now=at)

    def _statement_files(self, month: Any) -> None:
        """What `python -m verifier statement` needs to check the closed month offline, as
        a performer and an auditor would have it: the signed statements (the performer
        downloads them beside the PDF), an auditor's API key that may read the licenses'
        signed terms, and the log's key (here read from the key file itself, not asked of
        the server)."""
        from registry.models import ApiKey, hash_api_key
        from royalties.models import Statement
        from transparency.keys import verifier_key

        folder = self.files
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "log.vkey").write_text(verifier_key() + "\n")
        key_file = folder / "auditor.key"
        known = key_file.read_text().strip() if key_file.exists() else ""
        if not ApiKey.objects.filter(key_hash=hash_api_key(known), revoked_at=None).exists():
            ada = User.objects.get(email=PEOPLE["auditor"])
            _, raw = services.api_key_create(
                actor=ada, owner=ada.auditor, name="demo: verifier statement"
            )
            key_file.write_text(raw + "\n")
            key_file.chmod(0o600)
        signed = Statement.objects.filter(period__month=month).exclude(jws="")
        for statement in signed.select_related("payee"):
            slug = statement.payee.name.split()[0].lower()
            name = f"statement-{slug}-{statement.currency}.jws"
            (folder / name).write_text(statement.jws + "\n")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load demo accounts (with a published password) even with DEBUG off.",
        )
        parser.add_argument(
            "--files",
            metavar="DIR",
            help="Where to write the closed month's signed statements, an auditor's API key "
            "and the log's key, for `python -m verifier statement` (default: var/demo; none "
            "under the test suite unless given).",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEBUG or settings.TESTING) and not options["allow_production"]:
            raise CommandError(
                "Refusing to create demo accounts with a published password while DEBUG is "
                "off; pass --allow-production if you really mean it."
            )
        if options.get("files"):
            self.files: Path | None = Path(options["files"])
        else:
            self.files = None if settings.TESTING else settings.VAR_DIR / "demo"
        operator = self._user("operator", "Olive Operator", is_staff=True, is_superuser=True)

        june = self._user("performer", "June Calloway")
        june_p = Performer.objects.filter(user=june).first() or Performer.objects.create(
            user=june,
            slug="june-calloway",
            legal_name="June Ellen Calloway",
            stage_name="June Calloway",
            bio="Country singer from Tennessee, three gold records, warm alto.",
        )
        self._identity(june_p, operator)
        self._voice(
            june,
            june_p,
            "June — Porch Light",
            tone=220.0,
            description="Warm, unhurried alto with a soft Southern lilt. Great for storytelling.",
            languages=["en-US"],
            styles=["warm", "southern", "storytelling"],
            uses=["advertising", "audiobook", "podcast"],
            provider="ElevenLabs",
            provider_ref="demo-june-porchlight",
        )

        mateo = self._user("dubber", "Mateo Rivas")
        mateo_p = Performer.objects.filter(user=mateo).first() or Performer.objects.create(
            user=mateo,
            slug="mateo-rivas",
            legal_name="Mateo Rivas Ortega",
            stage_name="Mateo Rivas",
            bio="Voice actor who dubs film and games into Latin American and Castilian Spanish.",
        )
        self._identity(mateo_p, operator)
        self._voice(
            mateo,
            mateo_p,
            "Mateo — Doblaje",
            tone=330.0,
            description="Bright, versatile baritone for dubbing, games and explainers.",
            languages=["es-419", "es-ES", "en-US"],
            styles=["bright", "energetic"],
            uses=["dubbing", "video_game", "e_learning", "film_tv"],
            provider="Resemble",
            provider_ref="demo-mateo-doblaje",
        )

        executor = self._user("estate", "Eleanor Hart (Estate of Arthur Hale)")
        rep, _ = Representative.objects.get_or_create(
            user=executor, defaults={"organisation": "Estate of Arthur Hale"}
        )
        authority = self._represented(
            operator,
            rep,
            "Arthur Hale",
            legal_name="Arthur James Hale",
            bio="Late stage and screen actor (1931-2019), famous for his velvet baritone.",
            is_living=False,
            is_minor=False,
            kind=Authority.Kind.ESTATE_EXECUTOR,
            evidence=_pdf("Letters testamentary, Estate of Arthur Hale (fictional)"),
            evidence_name="letters-testamentary.pdf",
            evidence_description="Letters testamentary (demo)",
        )
        self._voice(
            executor,
            authority.performer,
            "Arthur Hale — Velvet",
            tone=110.0,
            description="The late actor's velvet baritone, managed by his estate.",
            languages=["en-GB"],
            styles=["velvet", "authoritative", "classic"],
            uses=["advertising", "film_tv", "audiobook"],
            provider="ElevenLabs",
            provider_ref="demo-arthur-velvet",
        )

        self._estate(operator, executor, authority.performer)
        # A new performer whose identity waits for the operator: her voice stays a draft.
        priya = self._user("pending", "Priya Nair")
        priya_p = Performer.objects.filter(user=priya).first() or Performer.objects.create(
            user=priya,
            slug="priya-nair",
            legal_name="Priya Lakshmi Nair",
            stage_name="Priya Nair",
            bio="Narrator of wellness podcasts and audiobooks.",
        )
        self._identity(priya_p, None)
        self._voice(
            priya,
            priya_p,
            "Priya — Morning Pages",
            tone=262.0,
            description="Calm, clear mezzo for meditations and narration.",
            languages=["en-GB", "hi-IN"],
            styles=["calm", "clear"],
            uses=["podcast", "audiobook", "e_learning"],
            provider="ElevenLabs",
            provider_ref="demo-priya-morning",
        )
        # Someone signs up under June Calloway's name: the operator's queue flags it.
        if not User.objects.filter(email=PEOPLE["namesake"]).exists():
            services.user_sign_up(
                data=services.SignUp(
                    email=PEOPLE["namesake"],
                    password=DEMO_PASSWORD,
                    display_name="june calloway",
                    role="performer",
                    legal_name="June  Calloway",
                    stage_name="june calloway",
                )
            )

        brand_user = self._user("brand", "Bea Brandt")
        for name, country, owner in (
            ("Northwind Coffee", "US", brand_user),
            ("Lumen Games", "ES", brand_user),
            ("Atlas Learning", "GB", None),
        ):
            brand = Brand.objects.filter(name=name).first()
            if brand is None:
                brand = services.brand_create(
                    owner=owner or operator,
                    name=name,
                    country=country,
                    billing_email=f"billing@{name.split()[0].lower()}.example",
                )
            if owner is not None:
                BrandMembership.objects.get_or_create(
                    brand=brand, user=owner, defaults={"role": BrandMembership.Role.OWNER}
                )

        self._brand_verifications(brand_user, operator)

        auditor = self._user("auditor", "Ada Auditor")
        Auditor.objects.get_or_create(user=auditor, defaults={"organisation": "Open Audit Co."})
        # June lets Ada read her licenses' terms, usage and statements (a no-op when done).
        services.audit_grant_give(actor=june, performer=june_p, auditor_email=PEOPLE["auditor"])

        self._delegation(operator, june, june_p)
        self._minor(operator)
        self._licensing(operator)
        checkpoint_sign()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Log in with password '{DEMO_PASSWORD}' as:")
        )
        for role, email in PEOPLE.items():
            self.stdout.write(f"  {role:<10} {email}")
        if self.files is not None:
            self.stdout.write(
                f"Last month's signed statements, an auditor's API key and the log's key are "
                f"in {self.files}/: check them with `python -m verifier statement` (README)."
            )
