"""The pure value judgements behind the config rules: secret strength, public hosts, URLs."""

from __future__ import annotations

import pytest

from harden_lib.checks.config_rules import (
    Endpoint,
    StrengthResult,
    host_problem,
    parse_endpoint,
    secret_strength,
    url_problem,
)

STRONG = "Qm7vX2pL9sKd4RtW8yHn3ZbF6cJg1Ne5UaTe0XoV"  # 40 random chars


def test_strong_secret_passes_with_shape_only():
    result = secret_strength(STRONG)
    assert result == StrengthResult(True, [], result.description)
    assert result.description.startswith("present, 40 chars, classes lower+upper+digit")
    assert STRONG not in result.description


@pytest.mark.parametrize(
    "value",
    [
        "changeme",
        "CHANGE-ME",
        "secret",
        "password",
        "example",
        "test",
        "dummy",
        "placeholder",
        "xxx",
        "your-session-secret-here",
        "your_api_key",
        "Xk9-changeme-Qp2Lr7Wz4Vb8Nc3Md6Jf1",  # long and mixed, but a template left in place
        "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7-EXAMPLE-cF0",
        "<insert the session secret>",
        "${SESSION_SECRET}",
    ],
)
def test_placeholders_are_detected_without_quoting_them(value):
    result = secret_strength(value, min_length=1, min_entropy_bits=0)
    assert not result.ok
    assert {
        "is a commonly used stand-in value, not a generated one",
        "contains a template marker (a value meant to be replaced)",
    } & set(result.problems), result.problems
    assert all(value not in p for p in result.problems)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a" * 40, "is one character repeated"),
        ("abcabcabcabcabcabcabcabcabcabcabcabc", "repeats a 3-character pattern"),
        ("ab" * 20, "repeats a 2-character pattern"),
        ("abcdefghijklmnopqrstuvwxyz0123456789", "is mostly an alphabet or keyboard sequence"),
        ("aabbaabbbaabababbbbababaabbabbbaaabba", "uses only 2 distinct characters"),
    ],
)
def test_patterns_no_generator_produces_fail(value, problem):
    result = secret_strength(value, min_length=1, min_entropy_bits=0)
    assert not result.ok and problem in result.problems


def test_length_and_entropy_thresholds_are_reported_with_numbers():
    short = secret_strength("Qm7vX2pL9sKd4R", min_length=32, min_entropy_bits=128)
    assert not short.ok
    assert "only 14 characters (at least 32 required)" in short.problems
    assert any(p.startswith("estimated entropy ~") and p.endswith("(at least 128 required)") for p in short.problems)
    # A random 32-hex-char key estimates below 128 bits: the estimator under-rates hex.
    hex32 = secret_strength("9f86d081884c7d659a2feaa0c55ad015")
    assert not hex32.ok and any("estimated entropy" in p for p in hex32.problems)
    assert secret_strength(STRONG, min_length=41).problems == ["only 40 characters (at least 41 required)"]


def test_empty_and_absent_secrets():
    assert secret_strength("") == StrengthResult(False, ["is empty"], "present but empty")
    assert secret_strength(None) == StrengthResult(False, ["is absent"], "absent")


@pytest.mark.parametrize(
    "host",
    ["relay.damus.io", "8.8.8.8", "2606:4700:4700::1111", "[2606:4700:4700::1111]", "HLS.Example.COM."],
)
def test_public_hosts(host):
    assert host_problem(host) is None


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("127.0.0.1", "is a loopback address"),
        ("127.1", "is a loopback address"),  # resolvers accept the short form
        ("0x7f000001", "is a loopback address"),
        ("2130706433", "is a loopback address"),
        ("0177.0.0.1", "is a loopback address"),  # octal
        ("::1", "is a loopback address"),
        ("[::1]", "is a loopback address"),
        ("::ffff:127.0.0.1", "is a loopback address (IPv4 inside IPv6)"),
        ("::ffff:10.1.2.3", "is a private address (IPv4 inside IPv6)"),
        ("64:ff9b::7f00:1", "is a loopback address (IPv4 inside IPv6)"),
        ("2002:c0a8:0101::1", "is a private address (IPv4 inside IPv6)"),  # 6to4 of 192.168.1.1
        ("0.0.0.0", "is the unspecified address"),
        ("::", "is the unspecified address"),
        ("169.254.169.254", "is a link-local address"),
        ("fe80::1", "is a link-local address"),
        ("fe80::1%eth0", "is a link-local address"),
        ("10.0.0.5", "is a private address"),
        ("172.16.3.4", "is a private address"),
        ("192.168.1.10", "is a private address"),
        ("fc00::1", "is a private address"),
        ("fd12:3456:789a::1", "is a private address"),
        ("100.64.0.1", "is not a publicly routable address"),  # carrier-grade NAT
        ("224.0.0.1", "is a multicast address"),
        ("localhost", "is a local-only host name"),
        ("LOCALHOST.", "is a local-only host name"),
        ("relay.localhost", "is a local-only host name"),
        ("printer.local", "is a local-only host name"),
        ("db.internal", "is a local-only host name"),
        ("relay", "is a single-label name (resolves only inside a private network, e.g. a Docker service)"),
        ("", "has no host"),
        (None, "has no host"),
    ],
)
def test_non_public_hosts(host, problem):
    assert host_problem(host) == problem


@pytest.mark.parametrize(
    ("item", "endpoint"),
    [
        ("wss://relay.example.com/path", Endpoint("wss", "relay.example.com")),
        ("ws://[::1]:7777", Endpoint("ws", "::1")),
        ("wss://user:pw@relay.example.com:443", Endpoint("wss", "relay.example.com")),
        ("turns:turn.example.com:5349?transport=tcp", Endpoint("turns", "turn.example.com")),
        ("TURN:[2001:db8::1]:3478", Endpoint("turn", "2001:db8::1")),
        ("stun:stun.l.google.com:19302", Endpoint("stun", "stun.l.google.com")),
        ("10.0.0.5:8080", Endpoint(None, "10.0.0.5")),
        ("relay.example.com", Endpoint(None, "relay.example.com")),
        ("ws://[::1:7777", Endpoint("ws", None, "is not a valid URL (bad host brackets or port)")),
        ("https://example.com:99999", Endpoint("https", None, "is not a valid URL (bad host brackets or port)")),
        ("wss://a.example,wss://b.example", Endpoint("wss", "a.example,wss", "has an invalid host name")),
        ("https://exa$mple.com/", Endpoint("https", "exa$mple.com", "has an invalid host name")),
        ("ws://relay_1:7777", Endpoint("ws", "relay_1")),
    ],
)
def test_parse_endpoint(item, endpoint):
    assert parse_endpoint(item) == endpoint


@pytest.mark.parametrize(
    ("item", "schemes", "problem"),
    [
        ("wss://relay.example.com", ["wss"], None),
        ("WSS://relay.example.com", ["wss"], None),
        ("ws://relay.example.com", ["wss"], "uses ws://, not wss://"),
        ("http://hls.example.com", ["https"], "uses http://, not https://"),
        ("turn:t.example.com:3478", ["turn", "turns"], None),
        ("stun:s.example.com", ["turn", "turns"], "uses stun:, not turn: or turns:"),
        ("https://", ["https"], "has no host"),
        ("hls.example.com", ["https"], "is not a URL (no scheme)"),
        ("https://a.example.com https://b.example.com", ["https"], "contains whitespace"),
        ("https://example.com:bad", ["https"], "is not a valid URL (bad host brackets or port)"),
        ("wss://a.example,wss://b.example", ["wss"], "has an invalid host name"),
    ],
)
def test_url_problem(item, schemes, problem):
    assert url_problem(item, schemes) == problem


# --------------------------------------------------------------------------- key_prefix, db_pooler (issue 15)


def _config(tmp_path, env_text: str, *rules: dict):
    from harden_lib.checks.config import ConfigParams, check_config

    (tmp_path / "app.env").write_text(env_text)
    found = check_config(ConfigParams.model_validate({"env_file": tmp_path / "app.env", "rules": list(rules)}))
    return [f for f in found if not f.check_id.startswith("config.env_file")]


def test_key_prefix_requires_a_restricted_stripe_key(tmp_path):
    import json

    full = "sk_live_" + "51NzQa" + "Xq7Lm2Vb9Rt4Kp8Wd3Yh6Jc1Fs5Gn0Ue" * 2
    restricted = "rk_live_" + "51NzQa" + "Pz3Lq8Vc2Rn7Kw4Wd9Yt1Jb6Fm5Gh0Ux" * 2
    rule = {"kind": "key_prefix", "keys": ["STRIPE_SECRET_KEY", "STRIPE_OTHER_KEY", "STRIPE_ODD_KEY"],
            "prefixes": ["rk_live_"], "forbidden_prefixes": ["sk_live_"]}  # fmt: skip
    found = _config(
        tmp_path,
        f"STRIPE_SECRET_KEY={full}\nSTRIPE_OTHER_KEY={restricted}\nSTRIPE_ODD_KEY=whsec_{'a1B2c3' * 6}\n",
        rule,
    )
    got = {f.target.removeprefix("app.env:"): f for f in found}
    assert [f.check_id for f in found] == ["config.key_prefix"] * 3
    assert got["STRIPE_SECRET_KEY"].status.value == "fail"
    assert "starts with sk_live_, a forbidden kind: a Stripe live secret key" in got["STRIPE_SECRET_KEY"].observed
    assert got["STRIPE_OTHER_KEY"].status.value == "pass"
    assert got["STRIPE_OTHER_KEY"].observed.startswith("starts with rk_live_ (a Stripe live restricted key)")
    assert got["STRIPE_ODD_KEY"].status.value == "fail"
    assert "none of the accepted prefixes" in got["STRIPE_ODD_KEY"].observed
    blob = json.dumps([f.model_dump(mode="json") for f in found])
    for value in (full, restricted, full[8:20], restricted[8:20], "a1B2c3a1B2c3"):
        assert value not in blob
    # a test-mode full key is named for what it is, without forbidden_prefixes
    test_key = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc" * 2
    rule = {"kind": "key_prefix", "key": "STRIPE_SECRET_KEY", "prefixes": ["rk_test_", "rk_live_"]}
    [one] = _config(tmp_path, f"STRIPE_SECRET_KEY={test_key}\n", rule)
    assert (
        one.status.value == "fail" and "a Stripe test secret key (full test-account access) (sk_test_)" in one.observed
    )
    assert test_key not in one.observed


def test_db_pooler_recognised_by_host_port_or_parameter(tmp_path):
    urls = {
        "PGBOUNCER": "postgresql://app:Zq8-pw-Xy71kLm@pgbouncer.internal:5432/app?sslmode=require",
        "SUPABASE": "postgres://postgres.abc:Zq8-pw-Xy71kLm@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
        "NEON": "postgresql://app:Zq8-pw-Xy71kLm@ep-cool-1234-pooler.eu-central-1.aws.neon.tech/db",
        "PRISMA": "postgresql://app:Zq8-pw-Xy71kLm@db.internal:5432/app?PgBouncer=TRUE&connection_limit=1",
        "PORT": "postgresql://app:Zq8-pw-Xy71kLm@10.0.0.5:6432/app",
        "DIRECT": "postgresql://app:Zq8-pw-Xy71kLm@db.internal:5432/app?sslmode=require",
        "RDS": "postgresql://app:Zq8-pw-Xy71kLm@prod.cluster-x.eu-west-1.rds.amazonaws.com/app",
        "NOT_A_URL": "host=db.internal port=6432 dbname=app",
        "MULTI": "postgresql://app:Zq8-pw-Xy71kLm@db-a.internal:5432,pgbouncer-b.internal:6432/app",
        "V6": "postgresql://app:Zq8-pw-Xy71kLm@[fd00::12]:6432/app",
    }
    env = "".join(f"{k}={v}\n" for k, v in urls.items())
    found = {
        f.target.removeprefix("app.env:"): f for f in _config(tmp_path, env, {"kind": "db_pooler", "keys": list(urls)})
    }
    assert {k: f.status.value for k, f in found.items()} == {
        "PGBOUNCER": "pass", "SUPABASE": "pass", "NEON": "pass", "PRISMA": "pass", "PORT": "pass",
        "DIRECT": "fail", "RDS": "fail", "NOT_A_URL": "fail", "MULTI": "pass", "V6": "pass",
    }  # fmt: skip
    assert "pooler recognised by host pgbouncer.internal" in found["PGBOUNCER"].observed
    assert "direct connection to prod.cluster-x.eu-west-1.rds.amazonaws.com (default port)" in found["RDS"].observed
    assert all("Zq8-pw-Xy71kLm" not in f.observed for f in found.values())
    # the patterns are configurable: an in-house pooler name passes, the default names no longer do
    custom = {"kind": "db_pooler", "keys": ["DIRECT", "PGBOUNCER"], "hosts": ["db.internal"], "ports": [],
              "params": []}  # fmt: skip
    found = {f.target.removeprefix("app.env:"): f.status.value for f in _config(tmp_path, env, custom)}
    assert "host pgbouncer-b.internal, port 6432" in "".join(
        f.observed for f in _config(tmp_path, env, {"kind": "db_pooler", "key": "MULTI"})
    )
    assert found == {"DIRECT": "pass", "PGBOUNCER": "fail"}
