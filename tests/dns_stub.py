"""A DNS server on 127.0.0.1 for tests: it answers TXT queries from a table, so that the
registry's real resolver code (dnspython, over UDP) runs end to end without the Internet.

Names not in the table are NXDOMAIN; ``exists`` names answer with no records; ``silent``
names get no answer at all (the resolver times out); ``servfail`` names answer SERVFAIL.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset


@dataclass
class DnsStub:
    txt: dict[str, list[list[bytes]]] = field(default_factory=dict)
    exists: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)
    servfail: set[str] = field(default_factory=set)
    queries: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def publish(self, name: str, *values: str | list[str]) -> None:
        """TXT records at ``name``: each a string, or a list of strings (one record split
        into several character-strings, as long records are)."""
        self.txt[name.lower().rstrip(".")] = [
            [part.encode() for part in ([value] if isinstance(value, str) else value)]
            for value in values
        ]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(wire)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            self.queries.append(name)
            if name in self.silent:
                continue
            response = dns.message.make_response(query)
            if name in self.servfail:
                response.set_rcode(dns.rcode.SERVFAIL)
            elif name in self.txt and question.rdtype == dns.rdatatype.TXT:
                rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, dns.rdatatype.TXT)
                for strings in self.txt[name]:
                    rrset.add(
                        dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings),
                        ttl=60,
                    )
                response.answer.append(rrset)
            elif name not in self.txt and name not in self.exists:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self._sock.sendto(response.to_wire(), peer)
