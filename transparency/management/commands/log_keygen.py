from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from transparency.keys import write_new_key


class Command(BaseCommand):
    help = "Create the log's Ed25519 checkpoint signing key as a PEM file (mode 0600)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", required=True, help="where to write it; must not exist")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["out"])
        try:
            write_new_key(path)
        except FileExistsError as exc:
            raise CommandError(f"{path} exists; refusing to overwrite a signing key") from exc
        self.stdout.write(f"wrote {path}; set TIMBRE_LOG_KEY_FILE={path}")
