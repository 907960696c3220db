"""A small authoritative DNS server on 127.0.0.1 (UDP and TCP), built on dnspython's message API.

The email area is tested against real DNS traffic: dnspython's resolver sends real queries to this
server, which answers from a dict of TXT records the test sets (several character-strings per
record, several records per name, NXDOMAIN for unknown names), or misbehaves on purpose
(``mode``: ``servfail``, ``refused``, ``silent`` — never answers, for timeouts).
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


@dataclass
class Zone:
    """name (lower case, no trailing dot) -> TXT records, each a list of character-strings."""

    txt: dict[str, list[list[str]]] = field(default_factory=dict)
    #: names that exist but have no TXT record (NOERROR, empty answer)
    other: set[str] = field(default_factory=set)
    mode: str = "answer"
    queries: list[str] = field(default_factory=list)

    def answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        self.queries.append(name)
        if self.mode == "silent":
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if self.mode == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif self.mode == "refused":
            response.set_rcode(dns.rcode.REFUSED)
        elif name in self.txt:
            if question.rdtype == dns.rdatatype.TXT:
                texts = [" ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in record)
                         for record in self.txt[name]]  # fmt: skip
                response.answer.append(dns.rrset.from_text_list(question.name, 300, "IN", "TXT", texts))
        elif name not in self.other and not any(k.endswith("." + name) for k in self.txt):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()


class _Udp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        out = self.server.zone.answer(data)  # type: ignore[attr-defined]
        if out is not None:
            sock.sendto(out, self.client_address)


class _Tcp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        size = int.from_bytes(self.request.recv(2), "big")
        out = self.server.zone.answer(self.request.recv(size))  # type: ignore[attr-defined]
        if out is not None:
            self.request.sendall(len(out).to_bytes(2, "big") + out)


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _free_port_both() -> tuple[_UdpServer, _TcpServer]:
    for _ in range(20):
        udp = _UdpServer(("127.0.0.1", 0), _Udp)
        port = udp.server_address[1]
        try:
            tcp = _TcpServer(("127.0.0.1", port), _Tcp)
        except OSError:
            udp.server_close()
            continue
        return udp, tcp
    raise RuntimeError("no port free for both UDP and TCP")


@contextlib.contextmanager
def dns_server(zone: Zone) -> Iterator[int]:
    """Serve ``zone`` on 127.0.0.1 (UDP and TCP, same port); yields the port."""
    udp, tcp = _free_port_both()
    for server in (udp, tcp):
        server.zone = zone  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield udp.server_address[1]
    finally:
        for server in (udp, tcp):
            server.shutdown()
            server.server_close()
