"""The registry's C2PA identity: root CA -> intermediate CA -> signer, Ed25519.

The signer's key and certificate chain (signer + intermediate) sign manifests; the root
is what verifiers trust, published at /.well-known/c2pa-root.pem. Files are named by
TIMBRE_C2PA_KEY_FILE, TIMBRE_C2PA_CHAIN_FILE and TIMBRE_C2PA_ROOT_FILE; in development
and tests they are generated under var/keys/ on first use. In production they come from
``manage.py c2pa_identity create``, and the root's private key is kept offline.

C2PA's certificate profile, as the SDK enforces it: the signer certificate is not a CA,
has keyUsage digitalSignature, an extended key usage C2PA accepts (emailProtection here)
and an authority key identifier; the intermediate must be in the chain.
"""

from __future__ import annotations

import fcntl
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

_lock = threading.Lock()


class IdentityUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Identity:
    key: Ed25519PrivateKey
    chain_pem: str  # signer, then intermediate
    root_pem: str


@dataclass(frozen=True)
class NewIdentity:
    identity: Identity
    root_key_pem: bytes
    intermediate_key_pem: bytes


def _usage(**on: bool) -> x509.KeyUsage:
    bits = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    bits.update(on)
    return x509.KeyUsage(**bits)


def _name(org: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    *,
    subject: x509.Name,
    key: Ed25519PrivateKey,
    issuer: x509.Name,
    issuer_key: Ed25519PrivateKey,
    days: int,
    ca_path_length: int | None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca_path_length is None:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(digital_signature=True), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
        )
    else:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=ca_path_length), critical=True
        ).add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
    return builder.sign(issuer_key, None)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def renew(*, chain_pem: str, root_pem: str, intermediate_key_pem: bytes) -> Identity:
    """A new signer key and certificate under the same intermediate (and so the same
    root): stamps made before stay trusted, as long as their certificate is valid."""
    intermediate_key = serialization.load_pem_private_key(intermediate_key_pem, password=None)
    if not isinstance(intermediate_key, Ed25519PrivateKey):
        raise IdentityUnavailable("the intermediate CA key is not an Ed25519 key")
    intermediate = x509.load_pem_x509_certificates(chain_pem.encode("ascii"))[-1]
    if intermediate.public_key() != intermediate_key.public_key():
        raise IdentityUnavailable("this intermediate CA key did not issue the current chain")
    org = intermediate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    if not isinstance(org, str):  # only an X500UniqueIdentifier's value is bytes
        raise IdentityUnavailable("the intermediate CA's organisation name is not text")
    signer_key = Ed25519PrivateKey.generate()
    signer = _certificate(
        subject=_name(org, f"{org} Content Credentials"),
        key=signer_key,
        issuer=intermediate.subject,
        issuer_key=intermediate_key,
        days=3 * 365,
        ca_path_length=None,
    )
    return Identity(key=signer_key, chain_pem=_pem(signer) + _pem(intermediate), root_pem=root_pem)


def generate(org: str = "Timbre Registry") -> NewIdentity:
    root_key, inter_key, signer_key = (Ed25519PrivateKey.generate() for _ in range(3))
    root_name = _name(org, f"{org} C2PA Root CA")
    inter_name = _name(org, f"{org} C2PA Intermediate CA")
    root = _certificate(
        subject=root_name,
        key=root_key,
        issuer=root_name,
        issuer_key=root_key,
        days=20 * 365,
        ca_path_length=1,
    )
    intermediate = _certificate(
        subject=inter_name,
        key=inter_key,
        issuer=root_name,
        issuer_key=root_key,
        days=10 * 365,
        ca_path_length=0,
    )
    signer = _certificate(
        subject=_name(org, f"{org} Content Credentials"),
        key=signer_key,
        issuer=inter_name,
        issuer_key=inter_key,
        days=3 * 365,
        ca_path_length=None,
    )
    return NewIdentity(
        identity=Identity(
            key=signer_key, chain_pem=_pem(signer) + _pem(intermediate), root_pem=_pem(root)
        ),
        root_key_pem=_key_pem(root_key),
        intermediate_key_pem=_key_pem(inter_key),
    )


def write_secret(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only, replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def _write_public(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def write(identity: Identity, *, key_file: Path, chain_file: Path, root_file: Path) -> None:
    """Write the signer key (0600), the chain and the root certificate, each atomically;
    the key last, so that a reader never pairs a new key with an old chain."""
    _write_public(root_file, identity.root_pem)
    _write_public(chain_file, identity.chain_pem)
    write_secret(key_file, _key_pem(identity.key))


def _paths() -> tuple[Path, Path, Path]:
    return (
        Path(settings.TIMBRE_C2PA_KEY_FILE),
        Path(settings.TIMBRE_C2PA_CHAIN_FILE),
        Path(settings.TIMBRE_C2PA_ROOT_FILE),
    )


@lru_cache(maxsize=2)
def _load(key_file: str, chain_file: str, root_file: str, mtime: float) -> Identity:
    key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise IdentityUnavailable(f"TIMBRE_C2PA_KEY_FILE={key_file} is not an Ed25519 key")
    chain = Path(chain_file).read_text()
    certificates = x509.load_pem_x509_certificates(chain.encode("ascii"))
    if len(certificates) < 2 or certificates[0].public_key() != key.public_key():
        raise IdentityUnavailable(
            f"TIMBRE_C2PA_CHAIN_FILE={chain_file} must hold the key's certificate, then the "
            "intermediate's"
        )
    return Identity(key=key, chain_pem=chain, root_pem=Path(root_file).read_text())


def current() -> Identity:
    """The configured identity (generated on first use in development and tests)."""
    key_file, chain_file, root_file = _paths()
    with _lock:
        if not all(p.exists() for p in (key_file, chain_file, root_file)):
            if not (settings.DEBUG or settings.TESTING):
                raise IdentityUnavailable(
                    "the C2PA identity files do not exist; create them with "
                    "`manage.py c2pa_identity create`"
                )
            key_file.parent.mkdir(parents=True, exist_ok=True)
            # Several development processes may start at once: one generates.
            with (key_file.parent / ".c2pa.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not all(p.exists() for p in (key_file, chain_file, root_file)):
                    write(
                        generate().identity,
                        key_file=key_file,
                        chain_file=chain_file,
                        root_file=root_file,
                    )
    mtime = max(p.stat().st_mtime for p in (key_file, chain_file, root_file))
    return _load(str(key_file), str(chain_file), str(root_file), mtime)
