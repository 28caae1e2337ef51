"""Connected accounts (Express, for payees) and the account links that onboard them."""

from __future__ import annotations

import copy

from tests.payments.stripe_fake.events import Events
from tests.payments.stripe_fake.store import Route
from tests.payments.stripe_fake.wire import Obj, Recorded, empty_list, invalid, missing

ACCOUNT_LINK_LIFETIME = 300
_CURRENCY_BY_COUNTRY = {"US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "JP": "jpy"}
_EURO_COUNTRIES = frozenset("AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK".split())

ACCOUNT_CREATE = frozenset(
    """account_token business_profile business_type capabilities company controller country
    default_currency documents email expand external_account groups individual metadata
    settings tos_acceptance type""".split()
)
ACCOUNT_LINK_CREATE = frozenset(
    "account collect collection_options expand refresh_url return_url type".split()
)


class Accounts(Events):
    def _account_routes(self) -> list[Route]:
        return [
            ("POST", "/v1/accounts", self._create_account),
            ("GET", "/v1/accounts/{id}", self._retriever("account")),
            ("POST", "/v1/account_links", self._create_account_link),
        ]

    def account_ready(self, account_id: str) -> Obj:
        """The connected account finished onboarding -> ``account.updated`` (a Connect event:
        ``account`` is set): requested capabilities and ``transfers`` become ``active``."""
        with self._state_change():
            account = self._own(account_id, "account")
            keys = ("capabilities", "charges_enabled", "details_submitted", "payouts_enabled")
            previous = {k: copy.deepcopy(account[k]) for k in keys}
            previous["requirements"] = copy.deepcopy(account["requirements"])
            capabilities = dict.fromkeys(account["capabilities"], "active")
            capabilities["transfers"] = "active"
            account.update(
                capabilities=capabilities,
                charges_enabled=True,
                details_submitted=True,
                payouts_enabled=True,
                requirements=self._requirements([]),
                future_requirements=self._requirements([]),
            )
            return self.event(
                "account.updated", account, account=account_id, previous_attributes=previous
            )

    def _create_account(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, ACCOUNT_CREATE)
        type_ = self._enum(args, "type", ("custom", "express", "standard"))
        if type_ is None and args.get("controller") is None:
            raise missing("type")
        country = (args.get("country") or "US").upper()
        requested = args.get("capabilities") or {}
        if not isinstance(requested, dict):
            raise invalid("capabilities", "Invalid object", "parameter_invalid_object")
        capabilities = {
            name: "inactive"
            for name, ask in requested.items()
            if isinstance(ask, dict) and ask.get("requested") == "true"
        }
        now = self._now()
        account_id = self._new_id("acct_", 16)
        dashboard = {"custom": "none", "express": "express", "standard": "full"}.get(
            type_ or "", "none"
        )
        account: Obj = {
            "id": account_id,
            "object": "account",
            "business_profile": dict.fromkeys(
                (
                    "annual_revenue estimated_worker_count mcc name product_description "
                    "support_address support_email support_phone support_url url"
                ).split()
            ),
            "business_type": args.get("business_type"),
            "capabilities": capabilities,
            "charges_enabled": False,
            "controller": {
                "fees": {"payer": "account" if type_ == "standard" else "application"},
                "is_controller": True,
                "losses": {"payments": "stripe" if type_ == "standard" else "application"},
                "requirement_collection": "application" if type_ == "custom" else "stripe",
                "stripe_dashboard": {"type": dashboard},
                "type": "application",
            },
            "country": country,
            "created": now,
            "default_currency": args.get("default_currency")
            or ("eur" if country in _EURO_COUNTRIES else _CURRENCY_BY_COUNTRY.get(country, "usd")),
            "details_submitted": False,
            "email": args.get("email"),
            "external_accounts": empty_list(f"/v1/accounts/{account_id}/external_accounts"),
            "future_requirements": self._requirements([]),
            "metadata": self._metadata(args),
            "payouts_enabled": False,
            "requirements": self._requirements(
                [
                    "business_profile.mcc",
                    "business_profile.url",
                    "business_type",
                    "external_account",
                    "tos_acceptance.date",
                    "tos_acceptance.ip",
                ]
            ),
            "settings": {
                "payouts": {
                    "debit_negative_balances": True,
                    "schedule": {"delay_days": 2, "interval": "daily"},
                    "statement_descriptor": None,
                },
            },
            "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
            "type": type_ or "none",
        }
        self._store(account)
        return account

    @staticmethod
    def _requirements(due: list[str]) -> Obj:
        return {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": list(due),
            "disabled_reason": "requirements.past_due" if due else None,
            "errors": [],
            "eventually_due": list(due),
            "past_due": list(due),
            "pending_verification": [],
        }

    def _create_account_link(self, rec: Recorded, args: Obj, _: str) -> Obj:
        self._check_params(args, ACCOUNT_LINK_CREATE)
        account = self._lookup(self._req_str(args, "account"), "account", param="account")
        self._enum(args, "type", ("account_onboarding", "account_update"), required=True)
        now = self._now()
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + ACCOUNT_LINK_LIFETIME,
            "url": f"https://connect.stripe.test/setup/e/{account['id']}/{self._rand(12)}",
        }
