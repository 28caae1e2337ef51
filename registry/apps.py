from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Registry: people, brands, voices and consent"

    def ready(self) -> None:
        from registry import schema  # noqa: F401 — registers the OpenAPI auth extension
