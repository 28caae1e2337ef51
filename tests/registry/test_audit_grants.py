"""A performer's side grants an auditor access, and ends it; nobody else can."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from registry import services
from registry.models import AuditGrant
from registry.policies import audited_performers

pytestmark = pytest.mark.django_db


def test_a_performer_grants_an_auditor_and_ends_it(performer_alice: Any, auditor_ada: Any) -> None:
    alice = performer_alice.user
    grant = services.audit_grant_give(
        actor=alice, performer=performer_alice, auditor_email=" ADA@example.com "
    )
    assert list(audited_performers(auditor_ada.auditor)) == [performer_alice]
    again = services.audit_grant_give(
        actor=alice, performer=performer_alice, auditor_email="ada@example.com"
    )
    assert again.pk == grant.pk, "granting twice is a no-op"
    services.audit_grant_revoke(actor=alice, grant=grant)
    assert not audited_performers(auditor_ada.auditor).exists()


def test_only_whoever_acts_for_the_performer_grants_or_ends(
    performer_alice: Any, performer_dave: Any, auditor_ada: Any, brand_bob: Any
) -> None:
    for outsider in (performer_dave.user, brand_bob, auditor_ada):
        with pytest.raises(PermissionDenied):
            services.audit_grant_give(
                actor=outsider, performer=performer_alice, auditor_email="ada@example.com"
            )
    grant = services.audit_grant_give(
        actor=performer_alice.user, performer=performer_alice, auditor_email="ada@example.com"
    )
    with pytest.raises(PermissionDenied):
        services.audit_grant_revoke(actor=performer_dave.user, grant=grant)
    assert AuditGrant.objects.get().revoked_at is None


def test_an_email_without_an_auditor_account_is_refused(
    performer_alice: Any, brand_bob: Any
) -> None:
    with pytest.raises(ValidationError, match="No auditor has an account"):
        services.audit_grant_give(
            actor=performer_alice.user, performer=performer_alice, auditor_email="bob@example.com"
        )
    assert not AuditGrant.objects.exists()


def test_the_studio_page_grants_and_ends_access(
    client: Client, performer_alice: Any, performer_dave: Any, auditor_ada: Any
) -> None:
    client.force_login(performer_alice.user)
    page = client.get("/studio/auditors/")
    assert page.status_code == 200 and "No auditor has access" in page.content.decode()
    response = client.post(
        "/studio/auditors/",
        {"performer": performer_alice.pk, "auditor_email": "nobody@example.com"},
    )
    assert "No auditor has an account with this email" in response.content.decode()
    response = client.post(
        "/studio/auditors/",
        {"performer": performer_alice.pk, "auditor_email": "ada@example.com"},
        follow=True,
    )
    assert "ada@example.com can now audit Alice Avery" in response.content.decode()
    grant = AuditGrant.objects.get()
    # Another performer's page neither lists nor ends it.
    client.force_login(performer_dave.user)
    assert "ada@example.com" not in client.get("/studio/auditors/").content.decode()
    assert client.post(f"/studio/auditors/{grant.pk}/revoke/").status_code == 404
    client.force_login(auditor_ada)
    dashboard = client.get("/auditor/").content.decode()
    assert "Alice Avery" in dashboard
    client.force_login(performer_alice.user)
    assert client.post(f"/studio/auditors/{grant.pk}/revoke/").status_code == 302
    assert AuditGrant.objects.get().revoked_at is not None
