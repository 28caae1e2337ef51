from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from credentials import identity

ROOT_KEY = "c2pa-root-ca.key.pem"
INTERMEDIATE_KEY = "c2pa-intermediate-ca.key.pem"


class Command(BaseCommand):
    help = (
        "The registry's C2PA identity. `create` makes a root CA, an intermediate CA and a "
        "signer certificate (Ed25519): the signer's key, the chain and the root go to the "
        "files named by TIMBRE_C2PA_KEY_FILE, TIMBRE_C2PA_CHAIN_FILE and "
        "TIMBRE_C2PA_ROOT_FILE (or --out-dir); the CA keys to --ca-dir, to keep offline. "
        "`renew` makes a new signer under the same intermediate (from --ca-dir), so the "
        "root verifiers trust does not change. `show` prints the configured certificates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "renew", "show"])
        parser.add_argument("--out-dir", help="Use signer.pem, chain.pem and root.pem here.")
        parser.add_argument("--ca-dir", help="Where the CA keys are written (create) or read.")
        parser.add_argument("--org", default="Timbre Registry", help="Organisation name.")
        parser.add_argument("--force", action="store_true", help="Replace existing files.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["out_dir"]:
            out = Path(options["out_dir"])
            paths = (out / "c2pa-signer.pem", out / "c2pa-chain.pem", out / "c2pa-root.pem")
        else:
            paths = (
                Path(settings.TIMBRE_C2PA_KEY_FILE),
                Path(settings.TIMBRE_C2PA_CHAIN_FILE),
                Path(settings.TIMBRE_C2PA_ROOT_FILE),
            )
        ca = Path(options["ca_dir"]) if options["ca_dir"] else None
        if options["action"] == "show":
            self._show(paths)
        elif options["action"] == "renew":
            self._renew(paths, ca)
        else:
            self._create(paths, ca, options)

    def _show(self, paths: tuple[Path, Path, Path]) -> None:
        for path in paths[1:]:
            if not path.exists():
                raise CommandError(f"{path} does not exist")
            for cert in x509.load_pem_x509_certificates(path.read_bytes()):
                self.stdout.write(
                    f"{path.name}: {cert.subject.rfc4514_string()} "
                    f"(until {cert.not_valid_after_utc:%Y-%m-%d})"
                )

    def _create(self, paths: tuple[Path, Path, Path], ca: Path | None, options: Any) -> None:
        targets = [*paths, *((ca / ROOT_KEY, ca / INTERMEDIATE_KEY) if ca else ())]
        existing = [str(p) for p in targets if p.exists()]
        if existing and not options["force"]:
            raise CommandError(f"{', '.join(existing)} exist; pass --force to replace them")
        new = identity.generate(org=options["org"])
        if ca is not None:
            # The CA keys first: if they cannot be written, nothing else changes.
            identity.write_secret(ca / ROOT_KEY, new.root_key_pem)
            identity.write_secret(ca / INTERMEDIATE_KEY, new.intermediate_key_pem)
        identity.write(new.identity, key_file=paths[0], chain_file=paths[1], root_file=paths[2])
        self.stdout.write(
            f"Wrote {paths[0]} (secret), {paths[1]} and {paths[2]}; the app publishes the root "
            "at /.well-known/c2pa-root.pem."
            + (f" Keep {ca} offline." if ca else " The CA keys were not kept (no --ca-dir).")
        )

    def _renew(self, paths: tuple[Path, Path, Path], ca: Path | None) -> None:
        if ca is None or not (ca / INTERMEDIATE_KEY).exists():
            raise CommandError(f"renew needs --ca-dir holding {INTERMEDIATE_KEY}")
        if not paths[1].exists() or not paths[2].exists():
            raise CommandError(f"{paths[1]} and {paths[2]} must exist to renew")
        try:
            renewed = identity.renew(
                chain_pem=paths[1].read_text(),
                root_pem=paths[2].read_text(),
                intermediate_key_pem=(ca / INTERMEDIATE_KEY).read_bytes(),
            )
        except (identity.IdentityUnavailable, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        identity.write(renewed, key_file=paths[0], chain_file=paths[1], root_file=paths[2])
        self.stdout.write(f"Wrote a new signer key to {paths[0]} and its chain to {paths[1]}.")
