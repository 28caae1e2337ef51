"""Operate license-signing keys: create, rotate, retire, mark compromised, list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from licensing import keys
from licensing.models import SigningKey
from transparency.keys import write_new_key


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (
            ("create", "register the key in FILE (generated if absent) as the active key"),
            ("rotate", "the same: the new key becomes active, the old one is retired"),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("--key-file", required=True, help="PEM file of the Ed25519 private key")
        # --kid=KID, not a positional: a thumbprint may start with "-", which argparse
        # would take for an option (the "=" form keeps it a value).
        p = sub.add_parser("retire", help="retire a key: what it signed before stays valid")
        p.add_argument("--kid", required=True, help="the key's kid; write --kid=KID")
        p = sub.add_parser("compromised", help="mark a key compromised from a log index on")
        p.add_argument("--kid", required=True, help="the key's kid; write --kid=KID")
        p.add_argument("--from-index", type=int, required=True)
        sub.add_parser("list", help="list every key and its status")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action in ("create", "rotate"):
                path = Path(options["key_file"])
                if not path.exists():
                    write_new_key(path)
                    self.stdout.write(f"generated {path}")
                key = keys.key_register(public_key=keys.read_private(path).public_key())
                self.stdout.write(f"active key {key.kid} (log index {key.added_log_index})")
                self.stdout.write(f"point TIMBRE_LICENSE_KEY_FILE at {path}")
            elif action in ("retire", "compromised"):
                found = SigningKey.objects.filter(kid=options["kid"]).first()
                if found is None:
                    raise CommandError(f"no key with kid {options['kid']!r}")
                key = keys.key_set_status(
                    key=found,
                    status=SigningKey.Status.RETIRED
                    if action == "retire"
                    else SigningKey.Status.COMPROMISED,
                    compromised_from_index=options.get("from_index"),
                )
                self.stdout.write(
                    f"{key.kid} is {key.status} from log index {key.status_log_index}"
                )
            else:
                for key in SigningKey.objects.order_by("created_at"):
                    self.stdout.write(
                        f"{key.kid}  {key.status:<11} since log index {key.status_log_index}"
                    )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except keys.SigningKeyUnavailable as exc:
            raise CommandError(str(exc)) from exc
