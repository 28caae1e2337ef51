"""Stripe Connect: payees onboard an Express account that can receive transfers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from payments import gateway
from payments.books import NotYet, backend
from payments.models import Backend, ConnectedAccount
from registry.models import User
from royalties.models import Payee


def connect_start(*, actor: User, payee: Payee, refresh_url: str, return_url: str) -> str:
    """The URL of Stripe's hosted onboarding for the payee's connected account."""
    if payee.user_id != actor.pk:
        raise PermissionDenied("Only the payee connects their own payout account.")
    if backend() != Backend.STRIPE:
        raise ValidationError({"payouts": ["Payouts are made by bank transfer here."]})
    connected = ConnectedAccount.objects.filter(payee=payee).first()
    if connected is None:
        account = gateway.account_create(payee_id=payee.pk, email=actor.email)
        connected, _ = ConnectedAccount.objects.get_or_create(
            payee=payee, defaults={"stripe_account_id": account["id"]}
        )
    return gateway.account_link_create(
        connected.stripe_account_id, refresh_url=refresh_url, return_url=return_url
    )


def connect_refresh(connected: ConnectedAccount) -> ConnectedAccount:
    """Read the account's state from Stripe (on the return page, as the webhook may lag)."""
    account = gateway.account_get(connected.stripe_account_id)
    _apply_account(connected, account, at=timezone.now())
    return connected


def _apply_account(connected: ConnectedAccount, account: dict[str, Any], *, at: datetime) -> None:
    if connected.state_at is not None and at < connected.state_at:
        return  # an older snapshot than the one we have
    capabilities = account.get("capabilities") or {}
    connected.transfers_active = capabilities.get("transfers") == "active"
    connected.details_submitted = bool(account.get("details_submitted"))
    connected.state_at = at
    connected.save(update_fields=["transfers_active", "details_submitted", "state_at"])


def account_updated(account: dict[str, Any], event: dict[str, Any]) -> None:
    connected = (
        ConnectedAccount.objects.select_for_update().filter(stripe_account_id=account["id"]).first()
    )
    if connected is None:
        raise NotYet(f"account {account['id']} is not recorded yet")
    _apply_account(connected, account, at=datetime.fromtimestamp(event["created"], UTC))
