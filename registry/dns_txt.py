"""Look up a domain's TXT records with a real resolver (dnspython).

The resolvers asked are ``TIMBRE_DNS_NAMESERVERS`` (default: the system's); tests point
them at a local DNS server, so that this code runs unchanged in every test.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
from django.conf import settings


class Outcome(enum.Enum):
    FOUND = "found"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NO_TXT = "no_txt"  # the name exists and has no TXT record
    TIMEOUT = "timeout"
    FAILED = "failed"  # no resolver answered usefully (SERVFAIL, refused, no configuration)


@dataclass(frozen=True)
class TxtAnswer:
    outcome: Outcome
    # Each TXT record's strings joined (a record longer than 255 bytes is split in strings).
    records: tuple[str, ...] = ()


def _resolver() -> dns.resolver.Resolver:
    servers = settings.TIMBRE_DNS_NAMESERVERS
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in servers]
    resolver.lifetime = float(settings.TIMBRE_DNS_TIMEOUT)
    resolver.timeout = float(settings.TIMBRE_DNS_TIMEOUT)
    # Never served from a cache: the owner has just published the record.
    resolver.cache = None
    return resolver


def lookup_txt(name: str) -> TxtAnswer:
    """The TXT records at ``name`` (an ASCII domain name), or why there are none."""
    try:
        resolver = _resolver()
        answer = resolver.resolve(name, dns.rdatatype.TXT, search=False)
    except dns.resolver.NXDOMAIN:
        return TxtAnswer(Outcome.NXDOMAIN)
    except dns.resolver.NoAnswer:
        return TxtAnswer(Outcome.NO_TXT)
    except dns.exception.Timeout:
        return TxtAnswer(Outcome.TIMEOUT)
    except dns.exception.DNSException:  # SERVFAIL or refused everywhere, no configuration
        return TxtAnswer(Outcome.FAILED)
    records = []
    for rdata in answer:
        strings = getattr(rdata, "strings", ())
        records.append(b"".join(strings).decode("utf-8", errors="replace"))
    return TxtAnswer(Outcome.FOUND, tuple(records))
