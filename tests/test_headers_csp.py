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
