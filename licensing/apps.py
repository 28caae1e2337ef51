from __future__ import annotations

from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing: offers, requests, licenses, keys"

    def ready(self) -> None:
        from licensing import services
        from registry import hooks

        hooks.on_consent_withdrawn(services.licenses_revoke_for_withdrawn_consent)
        hooks.on_consent_expired(services.licensees_tell_consent_expired)
