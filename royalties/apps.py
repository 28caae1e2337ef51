from __future__ import annotations

from django.apps import AppConfig


class RoyaltiesConfig(AppConfig):
    name = "royalties"
