"""Domain names a brand may verify: checked, and written one way (IDNA A-labels, lower case).

A brand proves control of a registrable host name, never of an IP address, a URL or an
e-mail address; whatever someone pastes is refused with the reason, not trimmed into
something else, so that the domain verified is exactly the one they meant.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

import idna
from django.core.exceptions import ValidationError

MAX_DOMAIN_LENGTH = 253  # RFC 1035, in its A-label (ASCII) form, without the final dot
MAX_LABEL_LENGTH = 63
# Where the owner publishes the record: a name of its own, so that the apex's TXT records
# (SPF and others) are left alone, and a CNAME can delegate it where the apex cannot.
TXT_LABEL = "_timbre"
TXT_PREFIX = "timbre-verification="

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_TLD = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})\Z")


def _refuse(message: str) -> ValidationError:
    return ValidationError({"domain": [message]})


def normalise_domain(value: object) -> str:
    """The domain in its ASCII (A-label) form, lower case, or ValidationError on ``domain``.

    ``Example.COM`` and ``example.com.`` (the root's dot) are ``example.com``;
    ``bücher.example`` is ``xn--bcher-kva.example``.
    """
    if not isinstance(value, str):
        raise _refuse("Give a domain name, e.g. example.com.")
    text = value.strip()
    if not text:
        raise _refuse("Give your brand's domain name, e.g. example.com.")
    if len(text) > 4 * MAX_DOMAIN_LENGTH:
        raise _refuse(f"A domain name is at most {MAX_DOMAIN_LENGTH} characters.")
    if "://" in text or "/" in text or "?" in text or "#" in text:
        raise _refuse("Give the domain name only (example.com), not a web address.")
    if "@" in text:
        raise _refuse("Give the domain name only (example.com), not an e-mail address.")
    if any(ch.isspace() for ch in text):
        raise _refuse("A domain name has no spaces.")
    host = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise _refuse("Give a domain name, not an IP address.")
    if ":" in text:
        raise _refuse("Give the domain name only, without a port.")
    if text.endswith("."):
        text = text[:-1]  # the root's dot: the same name
    if len(text) > MAX_DOMAIN_LENGTH:
        raise _refuse(f"A domain name is at most {MAX_DOMAIN_LENGTH} characters.")
    if not text or text.startswith(".") or ".." in text:
        raise _refuse("A domain name's labels are separated by single dots (example.com).")
    try:
        # UTS 46 mapping (case folding, full-width dots), then IDNA 2008: what browsers do.
        ascii_name = idna.encode(text, uts46=True).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise _refuse(f"{value!r} is not a valid domain name ({exc}).") from exc
    if len(ascii_name) > MAX_DOMAIN_LENGTH:
        raise _refuse(f"A domain name is at most {MAX_DOMAIN_LENGTH} characters.")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise _refuse("Give the full domain name, with its top-level domain (example.com).")
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH or not _LABEL.match(label):
            raise _refuse(
                f"{label!r} is not a valid part of a domain name: letters, digits and "
                f"hyphens, at most {MAX_LABEL_LENGTH} characters, no hyphen at either end."
            )
    if not _TLD.match(labels[-1]):
        raise _refuse(f"{labels[-1]!r} is not a top-level domain.")
    for label in idna.decode(ascii_name).split("."):
        if len(_scripts(label)) > 1:
            raise _refuse(
                f"{label!r} mixes letters of different scripts (e.g. Latin and Cyrillic), "
                "as look-alike domains do: give the domain as it is registered."
            )
    if all(part.isdigit() for part in labels):
        raise _refuse("Give a domain name, not an IP address.")
    return ascii_name


def _scripts(label: str) -> set[str]:
    """The scripts (Latin, Cyrillic, Greek...) of a label's letters."""
    return {unicodedata.name(ch, "UNKNOWN").split(" ")[0] for ch in label if ch.isalpha()}


def display_domain(ascii_name: str) -> str:
    """The domain as people read it (U-labels), e.g. ``bücher.example``."""
    try:
        return idna.decode(ascii_name)
    except idna.IDNAError:
        return ascii_name


def txt_record_name(ascii_name: str) -> str:
    return f"{TXT_LABEL}.{ascii_name}"


def txt_record_value(token: str) -> str:
    return f"{TXT_PREFIX}{token}"
