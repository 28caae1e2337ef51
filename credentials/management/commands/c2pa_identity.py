from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from credentials import identity


class Command(BaseCommand):
    help = (
        "The registry's C2PA identity. `create` makes a root CA, an intermediate CA and a "
        "signer certificate (Ed25519) and writes the signer's key, the chain and the root "
        "to the files named by TIMBRE_C2PA_KEY_FILE, TIMBRE_C2PA_CHAIN_FILE and "
        "TIMBRE_C2PA_ROOT_FILE (or --out-dir). The CA keys go to --ca-dir: keep them "
        "offline. `show` prints the configured certificates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "show"])
        parser.add_argument("--out-dir", help="Write signer.pem, chain.pem and root.pem here.")
        parser.add_argument("--ca-dir", help="Write the root and intermediate CA keys here.")
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
        if options["action"] == "show":
            for path in paths[1:]:
                if not path.exists():
                    raise CommandError(f"{path} does not exist")
                for cert in x509.load_pem_x509_certificates(path.read_bytes()):
                    self.stdout.write(
                        f"{path.name}: {cert.subject.rfc4514_string()} "
                        f"(until {cert.not_valid_after_utc:%Y-%m-%d})"
                    )
            return
        existing = [str(p) for p in paths if p.exists()]
        if existing and not options["force"]:
            raise CommandError(f"{', '.join(existing)} exist; pass --force to replace them")
        new = identity.generate(org=options["org"])
        identity.write(new, key_file=paths[0], chain_file=paths[1], root_file=paths[2])
        if options["ca_dir"]:
            ca = Path(options["ca_dir"])
            ca.mkdir(parents=True, exist_ok=True)
            for name, pem in (
                ("c2pa-root-ca.key.pem", new.root_key_pem),
                ("c2pa-intermediate-ca.key.pem", new.intermediate_key_pem),
            ):
                (ca / name).touch(mode=0o600, exist_ok=True)
                (ca / name).write_bytes(pem)
        self.stdout.write(
            f"Wrote {paths[0]} (secret), {paths[1]} and {paths[2]}; publish the root at "
            "/.well-known/c2pa-root.pem (the app serves it)."
        )
