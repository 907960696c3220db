"""CSP parsing the way browsers do it (CSP3 §2.2), and the questions the checks ask of it."""

from __future__ import annotations

import pytest

from harden_lib.checks.headers import csp


def test_directives_split_on_semicolons_sources_on_whitespace() -> None:
    policy = csp.parse_policy("  Default-SRC 'self'\thttps://a.example ;;SCRIPT-src   'NONCE-AbC' ; ")
    assert policy.directives == {
        "default-src": ("'self'", "https://a.example"),
        "script-src": ("'nonce-abc'",),
    }
    assert policy.duplicates == () and policy.unknown == ()


def test_repeated_directive_first_one_wins() -> None:
    policy = csp.parse_policy("script-src 'self'; script-src *")
    assert policy.get("script-src") == ("'self'",)
    assert policy.duplicates == ("script-src",)


def test_unknown_directive_is_noted() -> None:
    policy = csp.parse_policy("default-src 'self'; scirpt-src 'none'")
    assert policy.unknown == ("scirpt-src",)


def test_comma_separates_policies_and_headers_add_up() -> None:
    policies = csp.parse_header_values(["default-src 'self', script-src 'none'", "object-src 'none'"])
    assert [p.directives for p in policies] == [
        {"default-src": ("'self'",)},
        {"script-src": ("'none'",)},
        {"object-src": ("'none'",)},
    ]


def test_meta_policies_drop_header_only_directives() -> None:
    cset = csp.parse_response_csp([], [], ["default-src 'none'; frame-ancestors 'none'; sandbox"])
    (policy,) = cset.enforced
    assert policy.origin == "meta"
    assert "frame-ancestors" not in policy.directives and "sandbox" not in policy.directives
    assert cset.header_policies == ()


def test_report_only_is_not_enforced() -> None:
    cset = csp.parse_response_csp([], ["default-src 'none'"])
    assert cset.enforced == () and len(cset.report_only) == 1


@pytest.mark.parametrize(
    ("directive", "policy", "expected"),
    [
        ("script-src-elem", "default-src 'none'; script-src 'self'", ("'self'",)),
        ("script-src-elem", "default-src 'none'; script-src-elem 'nonce-a'", ("'nonce-a'",)),
        ("worker-src", "default-src 'none'; child-src blob:", ("blob:",)),
        ("worker-src", "default-src 'none'; script-src 'self'", ("'self'",)),
        ("object-src", "default-src 'none'", ("'none'",)),
        ("object-src", "script-src 'self'", None),
        ("frame-ancestors", "default-src 'none'", None),  # no fallback to default-src
        ("base-uri", "default-src 'none'", None),
    ],
)
def test_fallback_chain(directive: str, policy: str, expected: tuple[str, ...] | None) -> None:
    assert csp.parse_policy(policy).effective(directive) == expected


@pytest.mark.parametrize(
    ("sources", "script", "expected"),
    [
        (None, True, True),  # unrestricted
        (("'self'",), True, False),
        (("'self'", "'unsafe-inline'"), True, True),
        (("'unsafe-inline'", "'nonce-r4nd0m'"), True, False),  # nonce: 'unsafe-inline' ignored
        (("'unsafe-inline'", "'sha256-abc='"), True, False),  # hash: ignored too
        (("'unsafe-inline'", "'strict-dynamic'"), True, False),  # strict-dynamic (scripts only)
        (("'unsafe-inline'", "'strict-dynamic'"), False, True),  # ...but not for styles
    ],
)
def test_allows_inline(sources: tuple[str, ...] | None, script: bool, expected: bool) -> None:
    assert csp.allows_inline(sources, script=script) is expected


@pytest.mark.parametrize(
    ("source", "directive", "expected"),
    [
        ("*", "img-src", True),
        ("https:", "script-src", True),
        ("http:", "script-src", True),
        ("https://*", "script-src", True),
        ("*.example.com", "script-src", False),
        ("https://*.example.com", "script-src", False),
        ("data:", "script-src", True),
        ("data:", "img-src", False),
        ("'self'", "script-src", False),
    ],
)
def test_is_wildcard(source: str, directive: str, expected: bool) -> None:
    assert csp.is_wildcard(source, directive) is expected


def test_insecure_scheme() -> None:
    assert csp.is_insecure_scheme("http://cdn.example")
    assert csp.is_insecure_scheme("ws:")
    assert not csp.is_insecure_scheme("https://cdn.example")
    assert not csp.is_insecure_scheme("'self'")


def test_broad_sources_need_every_policy_to_allow_them() -> None:
    loose = csp.parse_policy("default-src 'self'; script-src 'self' https:")
    tight = csp.parse_policy("script-src 'self'")
    assert csp.broad_sources([loose], csp.is_wildcard) == {"script-src": ["https:"]}
    assert csp.broad_sources([loose, tight], csp.is_wildcard) == {}
    # strict-dynamic: browsers ignore host and scheme sources in script-src
    dynamic = csp.parse_policy("script-src 'nonce-a' 'strict-dynamic' https: http:")
    assert csp.broad_sources([dynamic], csp.is_wildcard) == {}


def test_limits_on_hostile_policies() -> None:
    many = "; ".join(f"x{i}-src 'self'" for i in range(500))
    policy = csp.parse_policy(many)
    assert len(policy.directives) == csp.MAX_DIRECTIVES and policy.truncated
    wide = csp.parse_policy("script-src " + " ".join(f"https://h{i}.example" for i in range(1000)))
    assert len(wide.get("script-src") or ()) == csp.MAX_SOURCES and wide.truncated
    long_text = csp.parse_policy("default-src " + "a" * (csp.MAX_POLICY_CHARS * 2))
    assert long_text.truncated
    assert len(csp.parse_header_values([",".join(["default-src 'self'"] * 100)])) == 32


# ---------------------------------------------------------------------- CSP3 §6.7.2: does a URL match a source list

PAGE = csp.UrlParts.parse("https://app.example.com/")


@pytest.mark.parametrize(
    ("url", "sources", "expected"),
    [
        # 'self': same origin, and secure upgrades on the same host with default ports
        ("https://app.example.com/api", "'self'", True),
        ("wss://app.example.com/live", "'self'", True),
        ("ws://app.example.com/live", "'self'", False),  # no downgrade from an https page
        ("wss://app.example.com:8443/live", "'self'", False),  # another port is another origin
        ("https://api.example.com/", "'self'", False),
        # scheme-only sources, with CSP3's upgrades (http -> https, ws -> wss/http/https, wss -> https)
        ("https://cdn.example.net/x", "https:", True),
        ("https://cdn.example.net/x", "http:", True),
        ("http://cdn.example.net/x", "https:", False),
        ("wss://api.example.com/ws", "wss:", True),
        ("wss://api.example.com/ws", "ws:", True),
        ("ws://api.example.com/ws", "wss:", False),
        ("https://api.example.com/", "wss:", True),  # rule 4: wss matches https (Fetch checks sockets as https)
        ("http://api.example.com/", "ws:", True),
        ("data:font/woff2;base64,AAAA", "data:", False),  # no host: our URL parser needs one (never a need)
        # host sources: wildcards cover subdomains only, ports default to the scheme's, paths prefix with /
        ("https://fonts.gstatic.com/s/a.woff2", "fonts.gstatic.com", True),  # schemeless: the page's scheme
        ("https://a.b.example.com/", "*.example.com", True),
        ("https://example.com/", "*.example.com", False),
        ("https://API.Example.COM/", "https://api.example.com", True),
        ("https://api.example.com:8443/", "https://api.example.com", False),
        ("https://api.example.com:8443/", "https://api.example.com:8443", True),
        ("https://api.example.com:8443/", "https://api.example.com:*", True),
        ("https://api.example.com:443/", "https://api.example.com:443", True),  # explicit default port
        ("https://api.example.com/v1/users", "https://api.example.com/v1/", True),
        ("https://api.example.com/v2/users", "https://api.example.com/v1/", False),
        ("https://api.example.com/v1", "https://api.example.com/v1/", False),
        ("https://api.example.com/v1/a%20b", "https://api.example.com/v1/a b", False),  # sources split on spaces
        ("https://api.example.com/v1/a%2Fb", "https://api.example.com/v1/", True),
        ("http://api.example.com/", "https://api.example.com", False),
        ("https://api.example.com/", "http://api.example.com", True),
        # IP-address hosts match no host source (host-part match step 1), '*' matches HTTP(S) URLs
        ("https://10.0.0.5/", "https://10.0.0.5", False),
        ("https://10.0.0.5/", "*", True),
        ("wss://api.example.com/", "*", False),  # '*' alone: only HTTP(S) schemes or the page's own
        # 'none' and empty lists match nothing; 'none' among other sources has no effect
        ("https://api.example.com/", "'none'", False),
        ("https://api.example.com/", "", False),
        ("https://api.example.com/", "'none' https://api.example.com", True),
        ("https://api.example.com/", "'unsafe-inline' 'nonce-abc'", False),
    ],
)
def test_url_matches_source_list_as_csp3_says(url: str, sources: str, expected: bool) -> None:
    parsed = csp.UrlParts.parse(url)
    if parsed is None:
        assert expected is False
        return
    policy = csp.parse_policy(f"connect-src {sources}")
    assert csp.url_matches_source_list(parsed, policy.get("connect-src") or (), PAGE) is expected


def test_a_plain_http_page_self_allows_ws_and_upgrades() -> None:
    page = csp.UrlParts.parse("http://intranet.example:80/")
    for url, expected in [("ws://intranet.example/live", True), ("wss://intranet.example/live", True)]:
        assert csp.url_matches_expression(csp.UrlParts.parse(url), "'self'", page) is expected


def test_fetch_checks_websockets_as_http_urls() -> None:
    wss = csp.UrlParts.parse("wss://api.example.com/ws")
    assert csp.fetched_url(wss).scheme == "https"
    policy = csp.parse_policy("connect-src https://api.example.com")
    assert csp.allows_url([policy], "connect-src", csp.fetched_url(wss), PAGE)
    assert not csp.allows_url([policy], "connect-src", wss, PAGE)


def test_every_enforced_policy_must_allow_and_fallbacks_apply() -> None:
    url = csp.UrlParts.parse("https://fonts.gstatic.com/s/x.woff2")
    loose = csp.parse_policy("default-src https:")
    strict = csp.parse_policy("default-src 'self'; font-src 'self'")
    assert csp.allows_url([loose], "font-src", url, PAGE)  # font-src falls back to default-src
    assert not csp.allows_url([loose, strict], "font-src", url, PAGE)
    assert csp.allows_url([csp.parse_policy("script-src 'self'")], "font-src", url, PAGE)  # not governed


# --------------------------------------------------------------------------- headers.csp.needs against a real server


def needs_env(site, **headers: object) -> object:
    from harden_lib.environment import Environment

    return Environment.model_validate(
        {
            "environment": "t",
            "base_url": site.base_url,
            "http": {"ca_bundle": str(site.ca_path), "connect_timeout": 2, "read_timeout": 3},
            "headers": {"check_redirect": False, "cors_probe": False, **headers},
            "cors": {"websockets": [{"url": "wss://live.example.com/ws"}, {"url": "/socket"}]},
        }
    )


NEEDS = {
    "connect-src": ["https://api.example.com/v1/orders"],
    "font-src": ["https://fonts.gstatic.com/s/inter/v1.woff2"],
}


@pytest.mark.parametrize(
    ("policy", "expected", "shown"),
    [
        (
            "default-src 'self'; connect-src 'self' wss://live.example.com https://api.example.com/v1/; "
            "font-src https://fonts.gstatic.com; object-src 'none'; base-uri 'none'",
            "pass",
            "connect-src wss://live.example.com/ws",
        ),
        (  # wss only through https:// — allowed as Fetch checks it, not as the ws URL is written
            "default-src 'self'; connect-src 'self' https://live.example.com https://api.example.com; "
            "font-src fonts.gstatic.com",
            "warn",
            "connect-src wss://live.example.com/ws allowed only as Fetch checks it (as https://)",
        ),
        (  # the strict policy forgot the app's sockets and fonts
            "default-src 'self'; object-src 'none'",
            "fail",
            "connect-src wss://live.example.com/ws blocked by 'self'",
        ),
        (  # a subdomain wildcard does not cover the apex; ports must match
            "default-src 'none'; connect-src 'self' *.example.com:8443 wss://live.example.com; font-src *.gstatic.com",
            "fail",
            "connect-src https://api.example.com/v1/orders blocked",
        ),
        ("", "pass", "No enforced CSP, so nothing is blocked"),
    ],
)
def test_csp_needs_on_a_real_page(pki, policy: str, expected: str, shown: str) -> None:
    from harden_lib.checks.headers import audit
    from tests.servers import Reply, serve

    headers = [("Content-Type", "text/html")]
    if policy:
        headers.append(("Content-Security-Policy", policy))
    headers.append(("Content-Security-Policy-Report-Only", "default-src 'none'"))  # blocks nothing
    with serve({"/": Reply(200, headers, "<p>x</p>")}, certs=pki) as site:
        report = audit(needs_env(site, csp_needs=NEEDS))
    (needs,) = [f for f in report.findings if f.check_id == "headers.csp.needs"]
    assert needs.status.value == expected, needs.observed
    assert shown in needs.observed
    if policy:  # the strictness checks still run beside it
        assert {f.check_id for f in report.findings} >= {"headers.csp.unsafe_inline", "headers.csp.wildcard_sources"}


def test_own_origin_socket_path_is_allowed_by_self(pki) -> None:
    """``/socket`` becomes wss://127.0.0.1:<port>/socket: 'self' of the page covers it (same host and port)."""
    from harden_lib.checks.headers import audit
    from tests.servers import Reply, serve

    policy = "default-src 'self'; connect-src 'self' wss://live.example.com"
    with serve(
        {"/": Reply(200, [("Content-Type", "text/html"), ("Content-Security-Policy", policy)])}, certs=pki
    ) as site:
        report = audit(needs_env(site))
    (needs,) = [f for f in report.findings if f.check_id == "headers.csp.needs"]
    assert needs.status.value == "pass", needs.observed
    assert f"wss://127.0.0.1:{site.base_url.rsplit(':', 1)[1]}/socket" in needs.observed


def test_csp_needs_skip_when_nothing_is_needed_and_params_are_validated(pki) -> None:
    from pydantic import ValidationError

    from harden_lib.checks.headers import audit
    from harden_lib.environment import Environment
    from tests.servers import Reply, serve

    with serve({"/": Reply(200, [("Content-Type", "text/html")])}, certs=pki) as site:
        env = needs_env(site, csp_needs_websockets=False)
        (needs,) = [f for f in audit(env).findings if f.check_id == "headers.csp.needs"]
    assert needs.status.value == "skip"
    with pytest.raises(ValidationError, match="not a fetch directive"):
        Environment.model_validate({"environment": "t", "headers": {"csp_needs": {"frame-ancestors": ["https://a"]}}})
    with pytest.raises(ValidationError, match="absolute URL"):
        Environment.model_validate({"environment": "t", "headers": {"csp_needs": {"font-src": ["fonts.gstatic.com"]}}})


def test_cors_api_routes_are_needed_in_connect_src(pki) -> None:
    from harden_lib.checks.headers import audit
    from harden_lib.environment import Environment
    from tests.servers import Reply, serve

    policy = "default-src 'none'; connect-src wss://live.example.com; object-src 'none'"
    with serve(
        {"/": Reply(200, [("Content-Type", "text/html"), ("Content-Security-Policy", policy)])}, certs=pki
    ) as site:
        env = Environment.model_validate(
            {
                "environment": "t",
                "base_url": site.base_url,
                "http": {"ca_bundle": str(site.ca_path), "connect_timeout": 2, "read_timeout": 3},
                "headers": {"check_redirect": False, "cors_probe": False},
                "cors": {"routes": ["/api/me"], "websockets": [{"url": "wss://live.example.com/ws"}]},
            }
        )
        (needs,) = [f for f in audit(env).findings if f.check_id == "headers.csp.needs"]
    assert needs.status.value == "fail", needs.observed
    assert f"connect-src {site.base_url}/api/me blocked by wss://live.example.com" in needs.observed


def test_hostile_policy_is_bounded_and_escaped(pki) -> None:
    from harden_lib.checks.headers import audit
    from tests.servers import Reply, serve

    hostile = "connect-src " + " ".join(f"https://h{i}.example" for i in range(2000)) + " <script>alert(1)</script>"
    with serve(
        {"/": Reply(200, [("Content-Type", "text/html"), ("Content-Security-Policy", hostile)])}, certs=pki
    ) as site:
        (needs,) = [f for f in audit(needs_env(site, csp_needs=NEEDS)).findings if f.check_id == "headers.csp.needs"]
    assert needs.status.value == "fail"  # the 256 sources kept do not include the needed hosts
    assert "<script>" not in needs.observed and len(needs.observed) < 1200
