"""Independent verification of issue 10, items 3 (redirect per host) and 4 (CORS on the GET).

The fixes were tested with several servers on 127.0.0.1 (different ports). Here every site has its
own loopback address (127.0.0.2 … 127.0.0.6, as separate hosts are), each with a different
plain-HTTP side: nothing listening at all, a redirect to *another* host, a plain 200 page, a first
hop to plain HTTP before HTTPS, and a redirect written with an upper-case scheme. One environment
listing them all must grade each page exactly as an environment given that host alone, and give
each the redirection result the Mozilla Observatory gives for that route. The mapping keys are
written other ways (upper-case scheme, trailing slash) than the URLs they map.

CORS: ``*`` together with ``Access-Control-Allow-Credentials: true`` on the GET, ``null`` in
another letter case, a preflight that reflects the probe's Origin with credentials while the
GET says nothing, and ``*`` on the second page of an environment only.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from harden_lib.checks.headers import audit
from harden_lib.demo.certs import CertBundle, generate_chain
from harden_lib.environment import Environment
from harden_lib.findings import Finding, Status
from tests.servers import Reply, Served, _handler

HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]
HTML = [("Content-Type", "text/html; charset=utf-8")]
GOOD = [
    *HTML,
    ("Strict-Transport-Security", "max-age=63072000"),
    ("Content-Security-Policy", "default-src 'none'; img-src 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
]


def loopback_aliases() -> bool:
    """Linux routes all of 127/8 to lo; other systems may need aliases."""
    try:
        for host in HOSTS:
            with socket.socket() as probe:
                probe.bind((host, 0))
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not loopback_aliases(), reason="127.0.0.2-6 cannot be bound on this machine")


@contextlib.contextmanager
def serve_on(host: str, routes: dict, *, certs: CertBundle | None = None) -> Iterator[Served]:
    """``tests.servers.serve`` on another loopback address (HTTPS with ``certs``, else plain HTTP)."""
    seen: list = []
    server = ThreadingHTTPServer((host, 0), _handler(routes, seen))
    server.daemon_threads = True
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    if certs:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs.cert_path, certs.key_path)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if certs else "http"
        yield Served(f"{scheme}://{host}:{server.server_address[1]}", certs.ca_path if certs else None, certs, seen)
    finally:
        server.shutdown()
        server.server_close()


def closed_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def page(headers: list[tuple[str, str]], body: str = "<p>ok</p>"):
    return lambda handler: Reply(200, headers, body)


def moved(location: str, status: int = 301):
    return lambda handler: Reply(status, [("Location", location)], "")


def env_for(pki: CertBundle, data: dict, **headers: object) -> Environment:
    return Environment.model_validate(
        {
            "environment": "verify-hosts",
            "http": {"ca_bundle": str(pki.ca_path), "connect_timeout": 2, "read_timeout": 2},
            **data,
            "headers": headers,
        }
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> CertBundle:
    return generate_chain(tmp_path_factory.mktemp("hosts-pki"), hosts=HOSTS)


#: site name → (expected Observatory redirection result, expected headers.redirect_https status)
EXPECTED = {
    "no-plain-listener": ("redirection-not-needed-no-http", Status.PASS),
    "off-host": ("redirection-off-host-from-http", Status.WARN),
    "plain-200": ("redirection-missing", Status.FAIL),
    "http-first-hop": ("redirection-not-to-https-on-initial-redirection", Status.FAIL),
    "upper-case-scheme": ("redirection-to-https", Status.PASS),
}


@pytest.fixture(scope="module")
def hosts(pki):
    """Five HTTPS sites on five addresses and their plain-HTTP sides; graded together and one by one."""
    with contextlib.ExitStack() as stack:
        names = list(EXPECTED)
        sites = {
            n: stack.enter_context(serve_on(h, {"*": page(GOOD)}, certs=pki)) for n, h in zip(names, HOSTS, strict=True)
        }
        plain = {
            "no-plain-listener": f"http://{HOSTS[0]}:{closed_port(HOSTS[0])}",
            "off-host": stack.enter_context(serve_on(HOSTS[1], {"*": moved(sites["plain-200"].base_url + "/")})),
            "plain-200": stack.enter_context(serve_on(HOSTS[2], {"*": page(HTML, "plain, no redirect")})),
            "http-first-hop": None,
            "upper-case-scheme": stack.enter_context(
                serve_on(HOSTS[4], {"*": moved(sites["upper-case-scheme"].base_url.replace("https", "HTTPS") + "/")})
            ),
        }
        first_hop = stack.enter_context(
            serve_on(
                HOSTS[3],
                {"/": moved("/www/", 302), "/www/": moved(sites["http-first-hop"].base_url + "/", 301)},
            )
        )
        plain["http-first-hop"] = first_hop
        plain_urls = {n: (p if isinstance(p, str) else p.base_url) for n, p in plain.items()}
        # Keys written other ways than the page URLs: upper-case scheme, trailing slash.
        mapping = {sites[n].base_url.replace("https://", "HTTPS://") + "/": plain_urls[n] for n in names}
        urls = [sites[n].base_url + "/" for n in names]
        together = audit(env_for(pki, {}, urls=urls, http_urls=mapping))
        alone = {n: audit(env_for(pki, {"base_url": sites[n].base_url, "http_url": plain_urls[n]})) for n in names}
        yield sites, plain_urls, together, alone


def redirects(findings: list[Finding]) -> dict[str, Finding]:
    return {f.target: f for f in findings if f.check_id == "headers.redirect_https"}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_host_gets_the_observatorys_redirection_result(hosts, name: str) -> None:
    sites, _, together, _ = hosts
    result, _ = EXPECTED[name]
    outcome = together.scores[sites[name].base_url + "/"].outcome("redirection")
    assert outcome.result == result, (name, outcome.result, outcome.detail)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_hosts_redirect_finding_is_its_own(hosts, name: str) -> None:
    _, plain_urls, together, _ = hosts
    _, status = EXPECTED[name]
    finding = redirects(together.findings)[plain_urls[name] + "/"]
    assert finding.status is status, (name, finding.status.value, finding.observed)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_one_environment_grades_each_host_as_that_host_alone(hosts, name: str) -> None:
    sites, _, together, alone = hosts
    url = sites[name].base_url + "/"
    mine, single = together.scores[url], alone[name].scores[url]
    assert mine.tests == single.tests, name
    assert (mine.score, mine.grade) == (single.score, single.grade), name


def test_one_probe_per_host_and_no_pass_for_a_redirect_never_probed(hosts) -> None:
    sites, _, together, _ = hosts
    assert len(redirects(together.findings)) == len(EXPECTED)
    grades = {n: together.scores[sites[n].base_url + "/"].grade for n in EXPECTED}
    assert grades["plain-200"] not in ("A+", "A"), grades  # -20: the missing redirect counts
    assert grades["no-plain-listener"] == grades["upper-case-scheme"]  # both 0: nothing to downgrade to / HTTPS


def test_a_host_with_no_mapping_is_probed_on_port_80_not_borrowed_from_another_host(pki) -> None:
    """Without a mapping the Observatory probes http://host (port 80); another host's mapping is not used."""
    with (
        serve_on(HOSTS[0], {"*": page(GOOD)}, certs=pki) as mapped,
        serve_on(HOSTS[1], {"*": page(GOOD)}, certs=pki) as unmapped,
        serve_on(HOSTS[0], {"*": moved(mapped.base_url + "/")}) as plain,
    ):
        report = audit(env_for(pki, {"base_url": mapped.base_url, "http_url": plain.base_url},
                               urls=["/", unmapped.base_url + "/"]))  # fmt: skip
    found = redirects(report.findings)
    assert set(found) == {plain.base_url + "/", f"http://{HOSTS[1]}/"}, set(found)
    assert found[plain.base_url + "/"].status is Status.PASS
    other = report.scores[unmapped.base_url + "/"].outcome("redirection")
    port_80 = found[f"http://{HOSTS[1]}/"]
    if "Connection refused" in port_80.observed:  # nothing on 127.0.0.3:80 here (no server of ours may bind it)
        assert port_80.status is Status.PASS and other.result == "redirection-not-needed-no-http"
    else:  # something else answers port 80 on this machine: whatever it is, it is not the mapped host's redirect
        assert plain.base_url not in port_80.observed


# --------------------------------------------------------------------------- CORS on the GET


def cors(findings: list[Finding], url: str) -> Finding:
    return next(f for f in findings if f.check_id == "headers.cors" and f.target == url)


def test_star_with_credentials_on_the_get_is_not_a_pass(pki) -> None:
    headers = [*GOOD, ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")]

    def route(handler) -> Reply:
        return Reply(405 if handler.command == "OPTIONS" else 200, headers if handler.command == "GET" else [], "")

    with serve_on(HOSTS[2], {"*": route}, certs=pki) as site:
        env = env_for(pki, {"base_url": site.base_url, "production": False}, check_redirect=False)
        found = cors(audit(env).findings, site.base_url + "/")
    assert found.status is Status.WARN, found.observed  # even outside production: a misconfiguration
    assert "GET (no Origin sent): Access-Control-Allow-Origin: *; Access-Control-Allow-Credentials: true" in (
        found.observed
    )


def test_null_written_in_capitals_on_the_get_fails(pki) -> None:
    with serve_on(HOSTS[3], {"*": page([*GOOD, ("access-control-allow-origin", " NULL ")])}, certs=pki) as site:
        found = cors(audit(env_for(pki, {"base_url": site.base_url}, check_redirect=False)).findings,
                     site.base_url + "/")  # fmt: skip
    assert found.status is Status.FAIL, found.observed


def test_a_preflight_reflecting_the_origin_with_credentials_fails_although_the_get_is_clean(pki) -> None:
    def route(handler) -> Reply:
        if handler.command == "OPTIONS":
            origin = handler.headers.get("Origin", "")
            return Reply(204, [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
                               ("Vary", "Origin")], "")  # fmt: skip
        return Reply(200, GOOD, "<p>ok</p>")

    with serve_on(HOSTS[4], {"*": route}, certs=pki) as site:
        env = env_for(pki, {"base_url": site.base_url}, check_redirect=False, cors_origin="https://probe.evil.example")
        found = cors(audit(env).findings, site.base_url + "/")
    assert found.status is Status.FAIL, found.observed
    assert "reflected with credentials" in found.observed


def test_star_on_the_second_page_only_is_judged_on_that_page(pki) -> None:
    routes = {"/": page(GOOD), "/public/feed": page([*GOOD, ("Access-Control-Allow-Origin", "*")])}
    with serve_on(HOSTS[0], routes, certs=pki) as site:
        report = audit(env_for(pki, {"base_url": site.base_url}, urls=["/", "/public/feed"], check_redirect=False))
    assert cors(report.findings, site.base_url + "/").status is Status.PASS
    feed = cors(report.findings, site.base_url + "/public/feed")
    assert feed.status is Status.WARN and "Access-Control-Allow-Origin: *" in feed.observed, feed.observed


def test_a_page_that_redirects_to_another_host_is_graded_on_its_own_hosts_redirect(pki) -> None:
    """The Observatory given host A probes http://A even when A's page moves to https://B."""
    with (
        serve_on(HOSTS[1], {"*": page(GOOD)}, certs=pki) as b,
        serve_on(HOSTS[0], {"*": moved(b.base_url + "/home")}, certs=pki) as a,
        serve_on(HOSTS[0], {"*": moved(a.base_url + "/")}) as a_plain,
        serve_on(HOSTS[1], {"*": page(HTML, "plain, no redirect")}) as b_plain,
    ):
        env = env_for(
            pki, {}, urls=[a.base_url + "/"], http_urls={a.base_url: a_plain.base_url, b.base_url: b_plain.base_url}
        )
        report = audit(env)
        alone = audit(env_for(pki, {"base_url": a.base_url, "http_url": a_plain.base_url}))
        b_probed = list(b_plain.requests)
    assert b_probed == []  # B's plain side is not A's
    assert list(redirects(report.findings)) == [a_plain.base_url + "/"]
    mine, single = report.scores[a.base_url + "/"], alone.scores[a.base_url + "/"]
    assert mine.outcome("redirection").result == "redirection-to-https"
    assert (mine.score, mine.grade) == (single.score, single.grade)
