"""Local TLS servers with particular protocol, cipher and certificate settings.

Shared by ``tests/test_tls*.py`` and ``benchmarks/bench_tls.py`` so that the benchmark measures
exactly the servers the tests assert on. Certificates are generated when a server starts: with
``cryptography`` (``harden_lib.demo.certs``, with switches to leave extensions out) and with the
real ``openssl`` command line (``openssl_private_ca``: a root from a plain ``openssl req -x509``,
which has no keyUsage, and a leaf from ``openssl x509 -req`` without key identifiers), the way
private CAs for Redis, PostgreSQL or internal APIs are usually made. ``nginx_server`` runs
Debian's real nginx with such a chain; ``raw_server`` runs a TCP port that misbehaves (never
answers, closes at once, or answers in plain text).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harden_lib.demo.certs import CertBundle, generate_chain, generate_self_signed
from tests.servers import Reply, Served, serve


@dataclass(frozen=True)
class Scenario:
    """A server configuration and the problems a scanner is expected to flag on it."""

    name: str
    description: str
    make: Callable[[Path], tuple[CertBundle, ssl.SSLContext | None]]
    #: problems a correct scanner reports: protocol ids accepted that should not be, and
    #: certificate problems among expired / hostname / untrusted
    legacy_protocols: frozenset[str] = frozenset()
    cert_problems: frozenset[str] = frozenset()
    #: whether the scenario's CA belongs in the CA bundle the scanners are given
    in_bundle: bool = True
    #: served by Debian's nginx (``make`` returns no Python context) instead of Python's ssl
    nginx: bool = False
    #: deviations from the CA/Browser Forum certificate profile are expected (tls.cert.profile warns)
    profile_deviations: bool = False


def _context(bundle: CertBundle) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(bundle.cert_path, bundle.key_path)
    return context


def modern(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """TLS 1.3 only, ECDSA P-256, one key-exchange group, a 61-day certificate: Mozilla 'modern'."""
    now = datetime.now(UTC)
    bundle = generate_chain(folder, not_before=now - timedelta(days=1), not_after=now + timedelta(days=60))
    context = _context(bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_ecdh_curve("prime256v1")
    return bundle, context


def tls12_cbc(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """TLS 1.2 only, RSA certificate, CBC suites and one static-RSA (no forward secrecy) suite."""
    bundle = generate_chain(folder, key_type="rsa")
    context = _context(bundle)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:AES128-SHA")
    return bundle, context


def tls10(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """TLS 1.0 and 1.1 enabled: OpenSSL's security level lowered to 0, as legacy servers do."""
    bundle = generate_chain(folder)
    context = _context(bundle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # that is the point of this server
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return bundle, context


def expired(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    now = datetime.now(UTC)
    bundle = generate_chain(folder, not_before=now - timedelta(days=60), not_after=now - timedelta(days=2))
    return bundle, _context(bundle)


def wrong_host(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    bundle = generate_chain(folder, hosts=["www.example.com", "example.com"])
    return bundle, _context(bundle)


def self_signed(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    bundle = generate_self_signed(folder)
    return bundle, _context(bundle)


# --------------------------------------------------------------------------- the openssl command line


def openssl_binary() -> str | None:
    return shutil.which("openssl")


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()[-500:]}")


def openssl_major_version() -> int:
    done = subprocess.run(["openssl", "version"], capture_output=True, text=True, timeout=10, check=False)
    match = re.search(r"(\d+)\.\d+", done.stdout)
    return int(match.group(1)) if match else 0


def openssl_private_ca(
    folder: Path,
    hosts: tuple[str, ...] = ("127.0.0.1", "::1", "localhost"),
    *,
    key_type: str = "ec",
    days: int = 60,
    leaf_extensions: bool = True,
    root_name: str = "Example Internal Root",
) -> CertBundle:
    """A private CA and a leaf made with the real ``openssl`` CLI, as a how-to would make them.

    Scenarios give their roots different names: a leaf without authorityKeyIdentifier names its
    issuer only by subject, so with two same-named CAs in one bundle OpenSSL may take the wrong
    one ("certificate signature failure") — a real trap, tested on its own, not in every scenario.

    The root: ``openssl req -x509 -newkey …`` with nothing else — on Debian it gets basicConstraints
    and key identifiers from the default config, and **no keyUsage**. The leaf: a CSR signed with
    ``openssl x509 -req`` and an ``-extfile`` holding only the subjectAltName; OpenSSL 3 adds key
    identifiers by default, so they are switched off (``= none``) to get what OpenSSL 1.1 and most
    older how-tos produce: **no authorityKeyIdentifier** (and no keyUsage or EKU either). With
    ``leaf_extensions=False`` there is no ``-extfile`` at all: OpenSSL writes an X.509 v1 leaf.
    """
    folder.mkdir(parents=True, exist_ok=True)
    newkey = ["-newkey", "rsa:2048"] if key_type == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    _openssl(
        "req", "-x509", *newkey, "-nodes", "-sha256", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
        "-subj", f"/O=Example Internal/CN={root_name}", cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-new", *newkey, "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", f"/CN={hosts[0]}", cwd=folder,
    )  # fmt: skip
    sign = ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-sha256"]
    sign += ["-set_serial", f"0x{secrets.token_hex(8)}", "-days", str(days), "-out", "server.pem"]
    if leaf_extensions:
        san = ",".join(f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in hosts)
        lines = [f"subjectAltName={san}"]
        if openssl_major_version() >= 3:  # 1.1 adds no key identifiers to begin with, and knows no "none"
            lines += ["authorityKeyIdentifier=none", "subjectKeyIdentifier=none"]
        (folder / "leaf.ext").write_text("\n".join(lines) + "\n")
        sign += ["-extfile", "leaf.ext"]
    _openssl(*sign, cwd=folder)
    (folder / "server.key").chmod(0o600)
    return CertBundle(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder)


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _modern_context(bundle: CertBundle) -> ssl.SSLContext:
    """Mozilla 'modern': TLS 1.3 only, P-256 only (needs an ECDSA certificate of at most 90 days)."""
    context = _context(bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_ecdh_curve("prime256v1")
    return context


def openssl_ca(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """Private CA from the openssl CLI (root without keyUsage, leaf without AKI), Mozilla 'modern' server."""
    return (bundle := openssl_private_ca(folder, key_type="ec", days=60)), _modern_context(bundle)


def openssl_wrong_host(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """Private CA from the openssl CLI, leaf for another name only (db.internal.example)."""
    bundle = openssl_private_ca(folder, ("db.internal.example",), key_type="rsa", root_name="Example DB Root")
    return bundle, _context(bundle)


def expired_no_aki(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """Expired leaf without key identifiers, keyUsage or EKU, from a CA without keyUsage (cryptography)."""
    now = datetime.now(UTC)
    bundle = generate_chain(
        folder,
        not_before=now - timedelta(days=40),
        not_after=now - timedelta(days=3),
        ca_key_usage=False,
        leaf_key_identifiers=False,
        leaf_key_usage=False,
        leaf_extended_key_usage=False,
        ca_common_name="Expired Leaf Root",
    )
    return bundle, _context(bundle)


def unknown_ca(folder: Path) -> tuple[CertBundle, ssl.SSLContext]:
    """A complete chain whose CA nobody was told to trust (kept out of the CA bundle)."""
    bundle = generate_chain(folder, key_type="rsa", ca_common_name="Unknown Internal CA")
    return bundle, _context(bundle)


def nginx_openssl_ca(folder: Path) -> tuple[CertBundle, None]:
    """Real nginx, Mozilla 'intermediate' configuration, RSA chain from the openssl CLI (no keyUsage/AKI)."""
    return openssl_private_ca(folder, key_type="rsa", days=60, root_name="Example Nginx Root"), None


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("modern", "TLS 1.3 only, ECDSA", modern),
        Scenario("tls12_cbc", "TLS 1.2 only, CBC + static RSA suites", tls12_cbc),
        Scenario("tls10", "TLS 1.0/1.1 enabled (SECLEVEL=0)", tls10, frozenset({"tls1_0", "tls1_1"})),
        Scenario("expired", "certificate expired 2 days ago", expired, cert_problems=frozenset({"expired"})),
        Scenario("wrong_host", "certificate for www.example.com", wrong_host, cert_problems=frozenset({"hostname"})),
        Scenario(
            "self_signed",
            "self-signed certificate",
            self_signed,
            cert_problems=frozenset({"untrusted"}),
            in_bundle=False,
        ),
        Scenario(
            "openssl_ca", "openssl CLI private CA (no keyUsage, no AKI), modern", openssl_ca, profile_deviations=True
        ),
        Scenario(
            "nginx_openssl_ca",
            "nginx, openssl CLI private CA (no keyUsage, no AKI), intermediate",
            nginx_openssl_ca,
            nginx=True,
            profile_deviations=True,
        ),
        Scenario(
            "openssl_wrong_host",
            "openssl CLI private CA, leaf for db.internal.example",
            openssl_wrong_host,
            cert_problems=frozenset({"hostname"}),
            profile_deviations=True,
        ),
        Scenario(
            "expired_no_aki",
            "expired leaf without AKI/keyUsage/EKU, CA without keyUsage",
            expired_no_aki,
            cert_problems=frozenset({"expired"}),
            profile_deviations=True,
        ),
        Scenario(
            "unknown_ca", "CA not in the bundle", unknown_ca, cert_problems=frozenset({"untrusted"}), in_bundle=False
        ),
    )
}


@contextlib.contextmanager
def tls_server(name: str, folder: Path | None = None) -> Iterator[Served]:
    """Start the named scenario's server on 127.0.0.1 for the ``with`` block."""
    folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix=f"harden-tls-{name}-"))
    bundle, context = SCENARIOS[name].make(folder)
    if SCENARIOS[name].nginx:
        with nginx_server(bundle, folder / "nginx") as port:
            yield Served(f"https://127.0.0.1:{port}", bundle.ca_path, bundle, [])
        return
    with serve({"*": Reply(200, [("Content-Type", "text/plain")], "ok")}, certs=bundle, context=context) as served:
        yield served


# --------------------------------------------------------------------------- nginx


def nginx_binary() -> str | None:
    """Debian's nginx (``/usr/sbin`` is not on every user's PATH)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/usr/local/nginx/sbin")
    return found


#: Mozilla's SSL Configuration Generator, nginx, 'intermediate' (5.7), without the DHE suites and
#: their dhparam file (a subset of the profile's suites is still the profile).
NGINX_INTERMEDIATE = (
    "ssl_protocols TLSv1.2 TLSv1.3;\n"
    "    ssl_ecdh_curve X25519:prime256v1:secp384r1;\n"
    "    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;\n"
    "    ssl_prefer_server_ciphers off;\n"
    "    ssl_session_tickets off;\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def nginx_server(bundle: CertBundle | None, folder: Path, *, tls_config: str = NGINX_INTERMEDIATE) -> Iterator[int]:
    """Run nginx on 127.0.0.1 (one process, in the foreground) for the ``with`` block; yields the port.

    With ``bundle`` None it serves plain HTTP (a "TLS" target that is not). The process is ended
    by its own id when the block exits.
    """
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed (apt-get install -y nginx)")
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    listen = f"listen 127.0.0.1:{port} ssl;" if bundle else f"listen 127.0.0.1:{port};"
    certs = (
        f"ssl_certificate {bundle.cert_path};\n    ssl_certificate_key {bundle.key_path};\n{tls_config}"
        if bundle
        else ""
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {temp["body"]};
  proxy_temp_path {temp["proxy"]};
  fastcgi_temp_path {temp["fastcgi"]};
  uwsgi_temp_path {temp["uwsgi"]};
  scgi_temp_path {temp["scgi"]};
  server {{
    {listen}
    server_name localhost;
    {certs}
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""
    )
    proc = subprocess.Popen(
        [binary, "-e", str(folder / "error.log"), "-p", str(folder), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                log = (folder / "error.log").read_text(errors="replace") if (folder / "error.log").exists() else ""
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"nginx exited with {proc.returncode}: {(err + log).strip()[-800:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx does not listen on 127.0.0.1:{port} after 10 s")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


# --------------------------------------------------------------------------- misbehaving ports


@contextlib.contextmanager
def raw_server(behaviour: str, reply: bytes = b"") -> Iterator[int]:
    """A TCP port on 127.0.0.1 that misbehaves; yields the port.

    ``silent``: the kernel completes the TCP handshake (listen backlog), nobody ever reads or
    answers. ``close``: every connection is accepted and closed at once. ``reply``: every
    connection gets ``reply`` as soon as it is accepted (a banner), then the server reads until
    the client goes away.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = int(listener.getsockname()[1])
    stop = threading.Event()

    def serve_forever() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if behaviour == "close":
                conn.close()
                continue
            threading.Thread(target=_answer, args=(conn, reply, stop), daemon=True).start()

    thread = None
    if behaviour != "silent":
        thread = threading.Thread(target=serve_forever, daemon=True)
        thread.start()
    try:
        yield port
    finally:
        stop.set()
        if thread:
            thread.join(timeout=2)
        listener.close()


def _answer(conn: socket.socket, reply: bytes, stop: threading.Event) -> None:
    with conn:
        conn.settimeout(0.2)
        with contextlib.suppress(OSError):
            conn.sendall(reply)
        while not stop.is_set():
            try:
                if not conn.recv(4096):
                    return
            except TimeoutError:
                continue
            except OSError:
                return


def tls10_handshake_possible() -> str | None:
    """None when this OpenSSL can still do a TLS 1.0 handshake at security level 0, else why not."""
    if not ssl.HAS_TLSv1:
        return f"{ssl.OPENSSL_VERSION} was built without TLS 1.0"
    import socket

    with tls_server("tls10") as served:
        port = int(served.base_url.rsplit(":", 1)[1])
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client.minimum_version = client.maximum_version = ssl.TLSVersion.TLSv1
        client.set_ciphers("DEFAULT:@SECLEVEL=0")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, client.wrap_socket(raw) as tls:
                return None if tls.version() == "TLSv1" else f"negotiated {tls.version()} instead of TLSv1"
        except (ssl.SSLError, OSError) as exc:
            return f"{ssl.OPENSSL_VERSION} refuses a TLS 1.0 handshake even at @SECLEVEL=0: {exc}"


@contextlib.contextmanager
def session_server(session: Callable[[socket.socket, threading.Event], None], host: str = "127.0.0.1") -> Iterator[int]:
    """A TCP port on ``host`` (127.0.0.1 or ::1) where each accepted connection runs ``session(conn, stop)``
    in its own thread; ``stop`` is set and every accepted connection closed when the ``with`` block
    ends. Yields the port."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.bind((host, 0))
    listener.listen(32)
    listener.settimeout(0.1)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve_forever() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)
            threading.Thread(target=session, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=serve_forever, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            with contextlib.suppress(OSError):
                conn.close()
        listener.close()


@contextlib.contextmanager
def smtp_starttls_server(bundle: CertBundle) -> Iterator[int]:
    """A minimal SMTP server on 127.0.0.1 that offers STARTTLS and then speaks TLS with ``bundle``; yields the port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(bundle.cert_path, bundle.key_path)

    def session(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError, ssl.SSLError), conn:
            conn.sendall(b"220 mail.test ESMTP ready\r\n")
            reader = conn.makefile("rb")
            for raw in reader:
                command = raw.strip().upper()
                if command.startswith((b"EHLO", b"HELO")):
                    conn.sendall(b"250-mail.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
                elif command == b"STARTTLS":
                    conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    with context.wrap_socket(conn, server_side=True) as tls:
                        while not stop.is_set() and tls.recv(4096):
                            pass
                    return
                elif command == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"502 5.5.2 command not recognised\r\n")

    with session_server(session) as port:
        yield port


# --------------------------------------------------------------------------- servers that stop mid-handshake


def tls_records(data: bytes) -> list[bytes]:
    """``data`` split into whole TLS records (header included); a trailing partial record is dropped."""
    out, pos = [], 0
    while pos + 5 <= len(data):
        end = pos + 5 + int.from_bytes(data[pos + 3 : pos + 5], "big")
        if end > len(data):
            break
        out.append(data[pos:end])
        pos = end
    return out


def one_message_per_record(records: list[bytes]) -> list[bytes]:
    """The same flight with every plaintext handshake message in a record of its own.

    Handshake messages may be split or joined across records at will (RFC 8446 §5.1), so this is
    what a real server could send; it lets a test cut the flight exactly after a named message.
    """
    out: list[bytes] = []
    pending = b""
    for record in records:
        if record[0] != 0x16:
            out.append(record)
            continue
        pending += record[5:]
        while len(pending) >= 4 and len(pending) >= 4 + int.from_bytes(pending[1:4], "big"):
            size = 4 + int.from_bytes(pending[1:4], "big")
            out.append(record[:3] + size.to_bytes(2, "big") + pending[:size])
            pending = pending[size:]
    return out


def server_first_flight(context: ssl.SSLContext, client_hello: bytes) -> list[bytes]:
    """What a real OpenSSL server (``context``) answers to ``client_hello``: its first flight, one message a record."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = context.wrap_bio(incoming, outgoing, server_side=True)
    incoming.write(client_hello)
    with contextlib.suppress(ssl.SSLWantReadError):
        server.do_handshake()
    return one_message_per_record(tls_records(outgoing.read()))


@contextlib.contextmanager
def cut_flight_server(context: ssl.SSLContext, records: int, extra: int = 0, then: str = "stall") -> Iterator[str]:
    """A TLS server on 127.0.0.1 that sends the first ``records`` records of its real first flight
    (one handshake message a record), then ``extra`` bytes of the next, then stalls (``then="stall"``:
    reads until the client goes) or closes (``"close"``). Yields ``host:port``.
    """

    def session(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(10)
        with contextlib.suppress(OSError, ssl.SSLError), conn:
            hello = b""
            while not tls_records(hello):
                chunk = conn.recv(65536)
                if not chunk:
                    return
                hello += chunk
            flight = server_first_flight(context, tls_records(hello)[0])
            sent = b"".join(flight[:records])
            if records < len(flight):
                sent += flight[records][:extra]
            conn.sendall(sent)
            if then == "close":
                return
            while not stop.is_set() and conn.recv(4096):
                pass

    with session_server(session) as port:
        yield f"127.0.0.1:{port}"
