"""factory_boy factories for the registry. Rows only: use cases go through services."""

from __future__ import annotations

import hashlib

import factory
from django.utils import timezone

from registry import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PerformerFactory(factory.django.DjangoModelFactory):
    """A performer whose identity an operator verified (their voices may go live), unless
    ``unverified=True``. One without an account (a late performer, a young minor) stands
    on a representative's verified authority instead, so it has no identity verified."""

    class Meta:
        model = models.Performer

    class Params:
        unverified = factory.Trait(identity_verified_at=None)

    user = factory.SubFactory(UserFactory)
    stage_name = factory.Faker("name")
    legal_name = factory.LazyAttribute(lambda o: f"{o.stage_name} Legal")
    slug = factory.Sequence(lambda n: f"performer-{n}")
    identity_verified_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.user is not None else None
    )


class RepresentativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Representative

    user = factory.SubFactory(UserFactory)
    organisation = "Acme Talent"


class AuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Authority

    representative = factory.SubFactory(RepresentativeFactory)
    performer = factory.SubFactory(PerformerFactory)
    kind = "agent"
    status = "active"
    evidence = factory.django.FileField(filename="mandate.pdf", data=b"%PDF-1.4\n%%EOF\n")
    evidence_sha256 = hashlib.sha256(b"%PDF-1.4\n%%EOF\n").hexdigest()
    verified_at = factory.LazyFunction(timezone.now)


class BrandFactory(factory.django.DjangoModelFactory):
    """A brand that has verified its legal name ("<name> Ltd") and domain
    ("<slug>.example"), as offers require by default; ``verified=False`` for one that
    has not."""

    class Meta:
        model = models.Brand
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")
    country = "US"
    billing_email = "billing@example.com"

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            legal_name = f"{obj.name} Ltd"
            models.BrandVerification.objects.create(
                brand=obj,
                legal_name=legal_name,
                legal_name_key=models.legal_name_key(legal_name),
                domain=f"{obj.slug}.example",
                token="0" * 40,
                status="verified",
                method="dns",
                verified_at=timezone.now(),
            )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.BrandMembership

    brand = factory.SubFactory(BrandFactory)
    user = factory.SubFactory(UserFactory)
    role = "member"


class AuditorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Auditor

    user = factory.SubFactory(UserFactory)
    organisation = "Open Audit"


class VoiceFactory(factory.django.DjangoModelFactory):
    """A voice row in a given status; active ones come with consent."""

    class Meta:
        model = models.VoiceModel
        skip_postgeneration_save = True

    performer = factory.SubFactory(PerformerFactory)
    display_name = factory.Sequence(lambda n: f"Voice {n}")
    slug = factory.Sequence(lambda n: f"voice-{n}")
    languages = ["en-US"]
    styles = ["warm"]
    uses = ["advertising"]
    provider = "ElevenLabs"
    model_sha256 = factory.Sequence(lambda n: hashlib.sha256(f"model {n}".encode()).hexdigest())
    status = "active"
    created_by = factory.LazyAttribute(lambda o: o.performer.user or UserFactory())

    @factory.post_generation
    def consent(obj, create, extracted, **kwargs):
        obj.refresh_search_tokens()
        obj.save()
        if create and obj.status == "active" and obj.performer.user is not None:
            text = f"consent for {obj.display_name}"
            record = models.ConsentRecord.objects.create(
                voice=obj,
                statement_version="timbre-consent/2",
                statement_text=text,
                statement_sha256=hashlib.sha256(text.encode()).hexdigest(),
                given_by=obj.performer.user,
                given_as="performer",
            )
            obj.consent_expires_at = record.expires_at
            obj.save(update_fields=["consent_expires_at"])
