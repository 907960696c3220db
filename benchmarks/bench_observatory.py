"""Benchmark / reference: the headers area's Observatory grade against the real Mozilla HTTP Observatory.

Serves generated header configurations, one per loopback address (127.0.0.10, .11, …: HTTPS on
443, plain HTTP on 80 unless the case has none), each varying one thing from a well-configured
baseline (HSTS, CSP, X-Frame-Options, X-Content-Type-Options, Referrer-Policy, cookies, CORS on
the GET / on the preflight, the plain-HTTP redirect good / bad / absent, SRI, CORP). Then:

* harden: ONE environment lists every case's URL (no base_url), and ``headers.audit`` grades
  each page with its own host's redirect probe and its own CORS preflight;
* the Observatory: the npm package ``@mdn/mdn-http-observatory`` (1.4.8, the release on the npm
  registry; installed with ``npm install --prefix <temp dir> --ignore-scripts``) scans each
  address alone with its own ``scan(hostname)`` (``src/scanner/index.js``), from a small node
  script written to the temp dir.

Nothing of the Observatory is patched. Two set-up steps replace what its ``postinstall`` would
download (no network here): ``conf/hsts-preload.json`` is written as ``{}`` (Chromium's HSTS
preload list; loopback addresses are never on it) and the run sets ``NODE_EXTRA_CA_CERTS`` to
the benchmark's CA so its HTTPS client trusts the generated certificate (its own CLI wrapper
would point that variable at Mozilla's CA bundle instead). It has no guard against loopback or
private addresses, but release 1.4.8 scans ``http://host/`` and ``https://host/`` on the default
ports only, so each case needs its own address with ports 80 and 443: run as root (CI is root).

Prints per-case disagreements and the agreement counts (score and grade equal; per test result
and pass/fail equal) and writes them to ``benchmarks/results/bench_observatory.json``.

Run: ``python benchmarks/bench_observatory.py [--keep-npm DIR]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harden_lib.checks import headers as headers_area  # noqa: E402
from harden_lib.checks.headers.observatory import TESTS  # noqa: E402
from harden_lib.demo.certs import generate_chain  # noqa: E402
from harden_lib.environment import Environment  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bench_observatory.json"
PACKAGE = "@mdn/mdn-http-observatory"
VERSION = "1.4.8"
FIRST_ADDRESS = 10  # 127.0.0.10 onwards
OTHER_HOST = "127.0.0.250"  # an HTTPS host that off-host redirects go to

Headers = list[tuple[str, str]]

BASE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
BASE: dict[str, str | list[str]] = {
    "Content-Type": "text/html; charset=utf-8",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Content-Security-Policy": BASE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Set-Cookie": ["__Host-sessionid=bench0123456789; Path=/; Secure; HttpOnly; SameSite=Lax"],
}
BASE_BODY = (
    '<!doctype html><html><head><title>bench</title><script src="/static/app.js" '
    'integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"></script>'
    "</head><body><p>bench</p></body></html>"
)


def vary(**changes: str | list[str] | None) -> Headers:
    """The baseline headers with some replaced (None removes one); names use _ for -."""
    merged: dict[str, str | list[str]] = dict(BASE)
    for key, value in changes.items():
        name = key.replace("_", "-")
        match = next((k for k in merged if k.lower() == name.lower()), name)
        if value is None:
            merged.pop(match, None)
        else:
            merged[match] = value
    out: Headers = []
    for name, value in merged.items():
        out.extend((name, v) for v in (value if isinstance(value, list) else [value]))
    return out


@dataclass
class Case:
    """One generated site: what its HTTPS page answers and what its plain-HTTP side does."""

    name: str
    varies: str
    headers: Headers = field(default_factory=lambda: vary())
    body: str = BASE_BODY
    #: status and extra headers of the answer to OPTIONS (the CORS preflight)
    options_status: int = 204
    options_headers: Headers = field(default_factory=list)
    #: plain-HTTP side: redirect (301) | redirect-307 | redirect-308 | temporary (302) | missing (200) |
    #: absent (no listener) | via-http | off-host | not-to-https | status-300 | loop | relative | page
    plain: str = "redirect"
    #: False: no HTTPS listener; the page is served on plain HTTP (``plain="page"``)
    https: bool = True
    address: str = ""

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.address}/"


def script(src: str, integrity: bool = False) -> str:
    sri = ' integrity="sha384-abc" crossorigin="anonymous"' if integrity else ""
    return f'<!doctype html><html><head><script src="{src}"{sri}></script></head><body>x</body></html>'


CASES: list[Case] = [
    Case("baseline", "none"),
    # HSTS
    Case("hsts-missing", "hsts", vary(strict_transport_security=None)),
    Case("hsts-short", "hsts", vary(strict_transport_security="max-age=86400")),
    Case("hsts-not-a-number", "hsts", vary(strict_transport_security="max-age=forever")),
    Case("hsts-twice", "hsts", vary(strict_transport_security=["max-age=63072000", "max-age=300"])),
    Case("hsts-no-max-age", "hsts", vary(strict_transport_security="includeSubDomains")),
    # CSP
    Case("csp-missing", "csp", vary(content_security_policy=None)),
    Case(
        "csp-unsafe-inline",
        "csp",
        vary(content_security_policy="default-src 'self'; script-src 'self' 'unsafe-inline'"),
    ),
    Case("csp-unsafe-eval", "csp", vary(content_security_policy="default-src 'self'; script-src 'self' 'unsafe-eval'")),
    Case("csp-default-self", "csp", vary(content_security_policy="default-src 'self'; frame-ancestors 'self'")),
    Case("csp-report-only", "csp", vary(content_security_policy=None, content_security_policy_report_only=BASE_CSP)),
    Case("csp-http-images", "csp", vary(content_security_policy="default-src 'none'; img-src http://img.example")),
    Case("csp-wildcard-script", "csp", vary(content_security_policy="default-src 'self'; script-src *")),
    Case(
        "csp-nonce-strict-dynamic",
        "csp",
        vary(
            content_security_policy="script-src 'nonce-r4nd0m' 'strict-dynamic' https: 'unsafe-inline'; "
            "object-src 'none'; base-uri 'none'"
        ),
    ),
    Case(
        "csp-strict-dynamic-no-nonce",
        "csp",
        vary(content_security_policy="script-src 'strict-dynamic'; object-src 'none'"),
    ),
    Case("csp-duplicate-directive", "csp", vary(content_security_policy="default-src 'self'; default-src 'none'")),
    Case(
        "csp-meta-only",
        "csp",
        vary(content_security_policy=None),
        body='<!doctype html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; img-src 'self'\"></head><body>x</body></html>",
    ),
    # X-Frame-Options
    Case("xfo-missing", "xfo", vary(x_frame_options=None, content_security_policy="default-src 'none'")),
    Case(
        "xfo-sameorigin-no-csp-fa",
        "xfo",
        vary(x_frame_options="SAMEORIGIN", content_security_policy="default-src 'none'"),
    ),
    Case("xfo-invalid", "xfo", vary(x_frame_options="ALLOWALL", content_security_policy="default-src 'none'")),
    # X-Content-Type-Options
    Case("xcto-missing", "xcto", vary(x_content_type_options=None)),
    Case("xcto-invalid", "xcto", vary(x_content_type_options="sniff")),
    # Referrer-Policy
    Case("referrer-unsafe-url", "referrer", vary(referrer_policy="unsafe-url")),
    Case("referrer-missing", "referrer", vary(referrer_policy=None)),
    Case("referrer-invalid", "referrer", vary(referrer_policy="nobody")),
    Case("referrer-fallback-list", "referrer", vary(referrer_policy="no-referrer, unknown-policy")),
    # Cookies
    Case("cookie-none", "cookies", vary(set_cookie=None)),
    Case(
        "cookie-session-not-secure",
        "cookies",
        vary(set_cookie=["sessionid=abc0123456789; Path=/; HttpOnly; SameSite=Lax"]),
    ),
    Case(
        "cookie-session-not-httponly",
        "cookies",
        vary(set_cookie=["sessionid=abc0123456789; Path=/; Secure; SameSite=Lax"]),
    ),
    Case("cookie-samesite-invalid", "cookies", vary(set_cookie=["prefs=dark; Path=/; Secure; SameSite=Sometimes"])),
    Case("cookie-csrf-no-samesite", "cookies", vary(set_cookie=["csrftoken=abc0123456789; Path=/; Secure"])),
    Case("cookie-no-samesite", "cookies", vary(set_cookie=["prefs=dark; Path=/; Secure"])),
    # CORS
    Case("cors-star-on-get-only", "cors", vary(access_control_allow_origin="*")),
    Case("cors-star-on-preflight", "cors", options_headers=[("Access-Control-Allow-Origin", "*")]),
    Case(
        "cors-reflect-with-credentials",
        "cors",
        options_headers=[("Access-Control-Allow-Origin", "{origin}"), ("Access-Control-Allow-Credentials", "true")],
    ),
    Case("cors-specific-origin", "cors", options_headers=[("Access-Control-Allow-Origin", "https://app.example")]),
    Case(
        "cors-preflight-405-with-star",
        "cors",
        options_status=405,
        options_headers=[("Access-Control-Allow-Origin", "*")],
    ),
    # Redirect
    Case("redirect-missing", "redirect", plain="missing"),
    Case("redirect-absent", "redirect", plain="absent"),
    Case("redirect-302", "redirect", plain="temporary"),
    Case("redirect-via-http", "redirect", plain="via-http"),
    Case("redirect-off-host", "redirect", plain="off-host"),
    Case("redirect-not-to-https", "redirect", plain="not-to-https"),
    Case("redirect-status-300", "redirect", plain="status-300"),
    # SRI
    Case("sri-external-https-no-integrity", "sri", body=script("https://cdn.example.org/lib.js")),
    Case("sri-external-http", "sri", body=script("http://cdn.example.org/lib.js")),
    Case("sri-external-with-integrity", "sri", body=script("https://cdn.example.org/lib.js", integrity=True)),
    Case("sri-protocol-relative", "sri", body=script("//cdn.example.org/lib.js", integrity=True)),
    # CORP
    Case("corp-missing", "corp", vary(cross_origin_resource_policy=None)),
    Case("corp-cross-origin", "corp", vary(cross_origin_resource_policy="cross-origin")),
    Case("corp-invalid", "corp", vary(cross_origin_resource_policy="same_origin")),
    Case("corp-twice", "corp", vary(cross_origin_resource_policy=["same-origin", "same-site"])),
    # Header spellings and repeats a server may send
    Case("csp-two-headers", "csp", vary(content_security_policy=[BASE_CSP, "script-src 'self' 'unsafe-inline'"])),
    Case("csp-upper-case", "csp", vary(content_security_policy="DEFAULT-SRC 'NONE'; IMG-SRC 'SELF'")),
    Case("csp-data-script", "csp", vary(content_security_policy="default-src 'self'; script-src 'self' data:")),
    Case(
        "csp-inline-style-only",
        "csp",
        vary(content_security_policy="default-src 'self'; style-src 'self' 'unsafe-inline'"),
    ),
    Case("csp-object-https", "csp", vary(content_security_policy="default-src 'self'; object-src https:")),
    Case(
        "csp-hash-and-inline",
        "csp",
        vary(content_security_policy="default-src 'none'; script-src 'sha256-abc=' 'unsafe-inline'"),
    ),
    Case("csp-empty-directive", "csp", vary(content_security_policy="default-src; img-src 'self'")),
    Case("csp-percent-path", "csp", vary(content_security_policy="default-src 'none'; img-src https://a.example/%zz")),
    Case("hsts-quoted", "hsts", vary(strict_transport_security='max-age="31536000"')),
    Case("hsts-zero", "hsts", vary(strict_transport_security="max-age=0")),
    Case("hsts-six-months-lie", "hsts", vary(strict_transport_security="max-age=15552000")),
    Case("hsts-upper-case", "hsts", vary(strict_transport_security="MAX-AGE=63072000; INCLUDESUBDOMAINS")),
    Case("xfo-deny-twice", "xfo", vary(x_frame_options=["DENY", "DENY"], content_security_policy="default-src 'none'")),
    Case(
        "xfo-allow-from",
        "xfo",
        vary(x_frame_options="ALLOW-FROM https://a.example", content_security_policy="default-src 'none'"),
    ),
    Case("xcto-twice", "xcto", vary(x_content_type_options=["nosniff", "nosniff"])),
    Case("xcto-upper", "xcto", vary(x_content_type_options="NoSniff")),
    Case("referrer-twice", "referrer", vary(referrer_policy=["unsafe-url", "strict-origin"])),
    Case(
        "referrer-meta-unsafe",
        "referrer",
        vary(referrer_policy=None),
        body='<!doctype html><html><head><meta name="referrer" content="unsafe-url"></head><body>x</body></html>',
    ),
    Case("cookie-samesite-none-insecure", "cookies", vary(set_cookie=["tracker=abc; Path=/; SameSite=None"])),
    Case(
        "cookie-upper-attributes",
        "cookies",
        vary(set_cookie=["SESSIONID=abc0123456789; PATH=/; SECURE; HTTPONLY; SAMESITE=STRICT"]),
    ),
    Case(
        "cookie-two", "cookies", vary(set_cookie=["a=1; Secure; SameSite=Lax", "login_state=2; Secure; SameSite=Lax"])
    ),
    Case("cookie-no-equals", "cookies", vary(set_cookie=["justaname; Secure"])),
    Case(
        "cookie-session-insecure-no-hsts",
        "cookies",
        vary(strict_transport_security=None, set_cookie=["sessid=abc0123456789; HttpOnly"]),
    ),
    Case("not-html-json", "sri", vary(content_type="application/json"), body='{"ok": true}'),
    Case("no-content-type-scripts", "sri", vary(content_type=None), body=script("http://cdn.example.org/x.js")),
    Case(
        "sri-inline-only",
        "sri",
        body="<!doctype html><html><head><script>var a=1;</script></head><body>x</body></html>",
    ),
    Case("status-401", "status", vary()),
    Case("cors-preflight-redirected", "cors", options_status=301, options_headers=[("Location", "/cors")]),
    Case("cors-null-preflight", "cors", options_headers=[("Access-Control-Allow-Origin", "null")]),
    Case("redirect-307", "redirect", plain="redirect-307"),
    Case("redirect-loop", "redirect", plain="loop"),
    Case("bare", "none", [("Content-Type", "text/html")], body="<p>nothing set</p>", plain="missing"),
    # Cookies the Observatory's cookie jar (tough-cookie) may refuse or keep
    Case("cookie-expired", "cookies", vary(set_cookie=["sessionid=old; Path=/; Max-Age=0"])),
    Case("cookie-past-expires", "cookies", vary(set_cookie=["sessionid=old; Expires=Thu, 01 Jan 1970 00:00:00 GMT"])),
    Case("cookie-foreign-domain", "cookies", vary(set_cookie=["sessionid=abc; Domain=example.com; Path=/"])),
    Case("cookie-host-prefix-insecure", "cookies", vary(set_cookie=["__Host-sessionid=abc; Path=/; HttpOnly"])),
    Case("cookie-secure-prefix-insecure", "cookies", vary(set_cookie=["__Secure-prefs=abc; Path=/"])),
    Case("cookie-other-path", "cookies", vary(set_cookie=["sessionid=abc; Path=/admin; HttpOnly"])),
    Case("cookie-empty-name", "cookies", vary(set_cookie=["=abc; Secure"])),
    Case("cookie-quoted-samesite", "cookies", vary(set_cookie=['prefs=1; Secure; SameSite="Lax"'])),
    Case("cookie-samesite-empty", "cookies", vary(set_cookie=["prefs=1; Secure; SameSite"])),
    # Pages and meta policies
    Case(
        "csp-header-and-meta",
        "csp",
        vary(content_security_policy="default-src 'self'; script-src 'self' 'unsafe-inline'"),
        body='<!doctype html><html><head><meta http-equiv="content-security-policy" '
        "content=\"script-src 'self'\"></head><body>x</body></html>",
    ),
    Case(
        "csp-meta-frame-ancestors",
        "xfo",
        vary(content_security_policy=None, x_frame_options=None),
        body='<!doctype html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; frame-ancestors 'none'\"></head><body>x</body></html>",
    ),
    Case(
        "content-type-upper",
        "sri",
        vary(content_type="Text/HTML; charset=utf-8"),
        body=script("http://cdn.example.org/x.js"),
    ),
    Case(
        "content-type-xhtml",
        "sri",
        vary(content_type="application/xhtml+xml"),
        body=script("http://cdn.example.org/x.js"),
    ),
    Case("sri-uppercase-scheme", "sri", body=script("HTTPS://cdn.example.org/x.js")),
    Case("sri-other-loopback-host", "sri", body=script("https://127.0.0.99/x.js")),
    Case(
        "sri-mixed",
        "sri",
        body='<!doctype html><html><head><script src="https://cdn.example.org/a.js" integrity="sha384-a"></script>'
        '<script src="https://cdn.example.net/b.js"></script></head><body>x</body></html>',
    ),
    Case("http-only-site", "https", [("Content-Type", "text/html")], body="<p>plain</p>", plain="page", https=False),
    # Values written other ways: whitespace, case, separators
    Case(
        "content-type-space-before-semicolon",
        "sri",
        vary(content_type="text/html ; charset=utf-8"),
        body=script("http://cdn.example.org/x.js"),
    ),
    Case("xfo-padded-lower", "xfo", vary(x_frame_options="  deny  ", content_security_policy="default-src 'none'")),
    Case("xcto-with-parameter", "xcto", vary(x_content_type_options="nosniff; mode=strict")),
    Case("referrer-padded-upper", "referrer", vary(referrer_policy="  No-Referrer  ")),
    Case("referrer-empty-tokens", "referrer", vary(referrer_policy=",,strict-origin,,")),
    Case("csp-tabs-and-semicolons", "csp", vary(content_security_policy="default-src\t'none';;  img-src   'self' ;")),
    Case("csp-self-unquoted", "csp", vary(content_security_policy="default-src self")),
    Case("csp-https-scheme-script", "csp", vary(content_security_policy="default-src 'self'; script-src https:")),
    Case("csp-ws-connect", "csp", vary(content_security_policy="default-src 'none'; connect-src ws://api.example")),
    Case("csp-ftp-media", "csp", vary(content_security_policy="default-src 'none'; media-src ftp://m.example")),
    Case("hsts-double-semicolon", "hsts", vary(strict_transport_security="max-age=31536000;;includeSubDomains")),
    Case("hsts-spaces-around-equals", "hsts", vary(strict_transport_security="max-age = 31536000")),
    Case("hsts-negative", "hsts", vary(strict_transport_security="max-age=-1")),
    Case("hsts-leading-digits", "hsts", vary(strict_transport_security="max-age=300abc")),
    Case("corp-upper", "corp", vary(cross_origin_resource_policy="Same-Origin")),
    Case("corp-padded", "corp", vary(cross_origin_resource_policy=" same-site ")),
    Case("cookie-samesite-none-secure", "cookies", vary(set_cookie=["tracker=abc; Secure; SameSite=None"])),
    Case("cookie-login-name", "cookies", vary(set_cookie=["LoginToken=abc; Secure; SameSite=Lax"])),
    Case(
        "cookie-same-name-twice",
        "cookies",
        vary(set_cookie=["sessionid=a; Secure; HttpOnly; SameSite=Lax", "sessionid=b; Path=/"]),
    ),
    Case("cookie-heroku-affinity", "cookies", vary(set_cookie=["heroku-session-affinity=abc; Path=/"])),
    Case(
        "cors-star-with-credentials",
        "cors",
        options_headers=[("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")],
    ),
    Case("cors-upper-star-padded", "cors", options_headers=[("Access-Control-Allow-Origin", " * ")]),
    Case("cors-preflight-500", "cors", options_status=500, options_headers=[("Access-Control-Allow-Origin", "*")]),
    Case("redirect-308", "redirect", plain="redirect-308"),
    Case("redirect-relative-location", "redirect", plain="relative"),
]


# --------------------------------------------------------------------------- servers


def _handler(routes: Callable[[BaseHTTPRequestHandler], tuple[int, Headers, str]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "bench"
        sys_version = ""

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            status, hdrs, body = routes(self)
            data = body.encode()
            self.send_response(status)
            for name, value in hdrs:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_OPTIONS = _answer

    return Handler


def https_routes(case: Case) -> Callable[[BaseHTTPRequestHandler], tuple[int, Headers, str]]:
    def route(h: BaseHTTPRequestHandler) -> tuple[int, Headers, str]:
        path = h.path.split("?", 1)[0]
        if h.command == "OPTIONS" and path == "/cors":
            return 200, [("Access-Control-Allow-Origin", "*")], ""
        if h.command == "OPTIONS":
            origin = h.headers.get("Origin", "")
            extra = [(n, v.replace("{origin}", origin)) for n, v in case.options_headers]
            return case.options_status, [("Allow", "GET, HEAD, OPTIONS"), *extra], ""
        if path == "/":
            return (401 if case.varies == "status" else 200), case.headers, case.body
        return 404, [("Content-Type", "text/plain")], "not found"

    return route


def plain_routes(case: Case) -> Callable[[BaseHTTPRequestHandler], tuple[int, Headers, str]]:
    host = case.address

    def route(h: BaseHTTPRequestHandler) -> tuple[int, Headers, str]:
        path = h.path.split("?", 1)[0]
        html = [("Content-Type", "text/html")]
        mode = case.plain
        if mode == "page":
            return https_routes(case)(h)
        if mode == "missing":
            return 200, html, "<p>plain page</p>"
        if mode == "temporary":
            return 302, [("Location", f"https://{host}{path}")], ""
        if mode == "via-http":
            return 301, [("Location", f"https://{host}/" if path == "/step" else f"http://{host}/step")], ""
        if mode == "off-host":
            return 301, [("Location", f"https://{OTHER_HOST}/")], ""
        if mode == "not-to-https":
            if path == "/final":
                return 200, html, "<p>still plain</p>"
            return 301, [("Location", f"http://{host}/final")], ""
        if mode == "redirect-308":
            return 308, [("Location", f"https://{host}{path}")], ""
        if mode == "relative":
            # a relative Location stays on plain HTTP: the route never reaches HTTPS
            return (301, [("Location", "/next")], "") if path == "/" else (200, html, "<p>plain</p>")
        if mode == "redirect-307":
            return 307, [("Location", f"https://{host}{path}")], ""
        if mode == "loop":
            return 301, [("Location", f"http://{host}/loop{len(path)}")], ""
        if mode == "status-300":
            return 300, [("Location", f"https://{host}/"), *html], "<p>choose</p>"
        return 301, [("Location", f"https://{host}{path}")], ""

    return route


class _Server(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` without the reverse DNS look-up of its address at bind time."""

    daemon_threads = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


@contextlib.contextmanager
def running(
    address: str, port: int, handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext | None
) -> Iterator[None]:
    server = _Server((address, port), handler)
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    # a short poll interval: ~250 servers are shut down one after another at the end
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- the Observatory

DRIVER = """
import { pathToFileURL } from "node:url";
const pkg = process.argv[2];
const hosts = process.argv.slice(3);
const { scan } = await import(pathToFileURL(pkg + "/src/scanner/index.js").href);
const out = {};
async function one(host) {
  try {
    const r = await scan(host);
    const tests = {};
    for (const [name, t] of Object.entries(r.tests)) {
      tests[name] = { result: t.result, pass: t.pass, modifier: t.scoreModifier };
    }
    out[host] = { score: r.scan.score, grade: r.scan.grade, tests };
  } catch (e) {
    out[host] = { error: String((e && e.message) || e) };
  }
}
const queue = [...hosts];
await Promise.all(Array.from({ length: 6 }, async () => {
  while (queue.length) await one(queue.shift());
}));
process.stdout.write(JSON.stringify(out));
"""


def install_observatory(prefix: Path) -> Path:
    """``npm install --prefix`` the package (scripts off: its postinstall downloads lists)."""
    package = prefix / "node_modules" / "@mdn" / "mdn-http-observatory"
    if not (package / "package.json").is_file():
        if not shutil.which("npm"):
            raise SystemExit("npm is not installed: the Observatory npm package cannot be run")
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(prefix),
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                f"{PACKAGE}@{VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    # What the skipped postinstall would have downloaded: the HSTS preload list (loopback
    # addresses are never on it, so an empty list gives the same answers here).
    preload = package / "conf" / "hsts-preload.json"
    if not preload.is_file():
        preload.write_text("{}")
    return package


def run_observatory(package: Path, hosts: list[str], ca: Path, work: Path) -> dict:
    driver = work / "drive_observatory.mjs"
    driver.write_text(DRIVER)
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(ca)}
    done = subprocess.run(
        ["node", str(driver), str(package), *hosts], capture_output=True, text=True, timeout=900, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the Observatory driver failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- harden


#: Most URLs one environment may list (``headers.urls``); more cases run as several environments.
URLS_PER_ENV = 50


def run_harden(urls: list[str], ca: Path) -> headers_area.HeadersAudit:
    """``headers.audit`` of environments listing up to 50 case URLs each, merged."""
    merged = headers_area.HeadersAudit()
    for start in range(0, len(urls), URLS_PER_ENV):
        env = Environment.model_validate(
            {
                "environment": f"bench-observatory-{start // URLS_PER_ENV + 1}",
                "production": True,
                "http": {"ca_bundle": str(ca), "connect_timeout": 3, "read_timeout": 5},
                "headers": {"urls": urls[start : start + URLS_PER_ENV], "workers": 8},
            }
        )
        report = headers_area.audit(env)
        merged.findings += report.findings
        merged.pages.update(report.pages)
        merged.scores.update(report.scores)
        merged.redirects.update(report.redirects)
        merged.plain_http.update(report.plain_http)
    return merged


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keep-npm", type=Path, help="install the npm package here and keep it (default: a temp dir)")
    args = parser.parse_args()
    if len(CASES) + FIRST_ADDRESS > 250:
        raise SystemExit("too many cases for the loopback addresses used")
    if not shutil.which("node"):
        raise SystemExit("node is not installed: the Observatory npm package cannot be run")

    with tempfile.TemporaryDirectory(prefix="harden-bench-obs-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        package = install_observatory(args.keep_npm or work / "npm")
        install_s = time.perf_counter() - started
        for i, case in enumerate(CASES):
            case.address = f"127.0.0.{FIRST_ADDRESS + i}"
        pki = generate_chain(work / "pki", [c.address for c in CASES] + [OTHER_HOST])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.cert_path, pki.key_path)
        with contextlib.ExitStack() as stack:
            try:
                for case in CASES:
                    if case.https:
                        stack.enter_context(running(case.address, 443, _handler(https_routes(case)), context))
                    if case.plain != "absent":
                        stack.enter_context(running(case.address, 80, _handler(plain_routes(case)), None))
                stack.enter_context(running(OTHER_HOST, 443, _handler(https_routes(Case("other", "none"))), context))
            except PermissionError:
                raise SystemExit(
                    "binding ports 80/443 on 127.0.0.x needs root (Observatory 1.4.8 scans default ports only)"
                ) from None
            urls = [c.url for c in CASES]
            t0 = time.perf_counter()
            report = run_harden(urls, pki.ca_path)
            harden_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            reference = run_observatory(package, [c.address for c in CASES], pki.ca_path, work)
            observatory_s = time.perf_counter() - t0
        node_version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()

    rows = []
    score_equal = grade_equal = both_equal = tests_equal = tests_total = scanned = 0
    per_test = {t: [0, 0] for t in TESTS}
    for case in CASES:
        url = case.url
        ours = report.scores.get(url)
        theirs = reference.get(case.address, {"error": "no result"})
        row: dict = {"case": case.name, "varies": case.varies, "address": case.address}
        if ours is None or "error" in theirs:
            row["error"] = theirs.get("error") if "error" in theirs else f"harden: {report.pages.get(url)}"
            rows.append(row)
            continue
        scanned += 1
        row["harden"] = {"score": ours.score, "grade": ours.grade}
        row["observatory"] = {"score": theirs["score"], "grade": theirs["grade"]}
        score_equal += ours.score == theirs["score"]
        grade_equal += ours.grade == theirs["grade"]
        both_equal += ours.score == theirs["score"] and ours.grade == theirs["grade"]
        diffs = []
        for outcome in ours.outcomes:
            ref = theirs["tests"].get(outcome.test, {})
            same = outcome.result == ref.get("result") and outcome.passed == ref.get("pass")
            tests_total += 1
            tests_equal += same
            per_test[outcome.test][0] += same
            per_test[outcome.test][1] += 1
            if not same:
                diffs.append(
                    {
                        "test": outcome.test,
                        "harden": [outcome.result, outcome.passed, outcome.modifier],
                        "observatory": [ref.get("result"), ref.get("pass"), ref.get("modifier")],
                    }
                )
        row["test_disagreements"] = diffs
        rows.append(row)

    summary = {
        "benchmark": "bench_observatory",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "reference": f"{PACKAGE}@{VERSION} (npm), scan(hostname) of src/scanner/index.js, unpatched",
        "reference_setup": [
            "npm install --ignore-scripts (postinstall downloads the HSTS preload and TLD lists: no network)",
            "conf/hsts-preload.json written as {} (loopback addresses are never preloaded)",
            "NODE_EXTRA_CA_CERTS = the benchmark's generated CA",
        ],
        "harden_setup": f"environments listing up to {URLS_PER_ENV} case URLs each (no base_url); headers.audit",
        "node": node_version,
        "python": platform.python_version(),
        "cases": len(CASES),
        "scanned_by_both": scanned,
        "score_equal": score_equal,
        "grade_equal": grade_equal,
        "score_and_grade_equal": both_equal,
        "tests_equal": tests_equal,
        "tests_compared": tests_total,
        "per_test_equal": {t: f"{a}/{b}" for t, (a, b) in per_test.items()},
        "seconds": {
            "npm_install": round(install_s, 1),
            "harden": round(harden_s, 2),
            "observatory": round(observatory_s, 2),
        },
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")

    for row in rows:
        if "error" in row:
            print(f"  {row['case']:<34} ERROR {row['error']}")
        elif row["test_disagreements"] or row["harden"] != row["observatory"]:
            h, o = row["harden"], row["observatory"]
            print(f"  {row['case']:<34} harden {h['score']} {h['grade']} / observatory {o['score']} {o['grade']}")
            for d in row["test_disagreements"]:
                print(f"      {d['test']}: harden {d['harden']} vs observatory {d['observatory']}")
    print(
        f"{len(CASES)} cases, {scanned} scanned by both: score and grade equal {both_equal}/{scanned} "
        f"(score {score_equal}, grade {grade_equal}); tests equal (result and pass) {tests_equal}/{tests_total}"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
