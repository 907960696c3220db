"""The config area end to end in-process: params -> env file -> rules -> findings and evidence."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harden_lib import ParamsError
from harden_lib.checks import config
from harden_lib.checks.config import ConfigParams, check_config, env_inventory, plot_rule_outcomes, run
from harden_lib.environment import load_environment
from harden_lib.findings import Finding, Severity, Status

ROOT = Path(__file__).resolve().parent.parent

# Unique fake secrets: the leak test greps every output for them.
SESSION = "kQ8vR3nX7pL2sW9dZ4bT6yH1cM5fJ0gAeU"  # strong (34 chars)
NEXTAUTH = "Tz4Lq9Wc2Rv7Xn5Bp8Kd3Hs6Jm1Fg0YaE"  # strong
DB_PASSWORD = "dbpw-Hx7Rk2Vq9Lm4Zs"
REDIS_PASSWORD = "rdpw-Nc5Tb8Yw3Pe6Qa"
ENC_KEY = "3f9a1c7e5b2d8f4a6c0e9b1d7a3f5c8e2b4d6f0a9c1e3b5d7f9a2c4e6b8d0f1a"
RPC_PASSWORD = "rpc-Gm4Xj8Sv2Kt6Wn9Lp"
WEAK = "weak-Xq1z"  # short and low entropy, but a unique string to grep for
NSEC = "e1b9c3a7d5f2084b6e9c1a3d5f7b9e2c"  # secret by rule kind only (innocent key name)
ALL_SECRETS = (SESSION, NEXTAUTH, DB_PASSWORD, REDIS_PASSWORD, ENC_KEY, RPC_PASSWORD, WEAK, NSEC)

ENV_TEXT = f"""
# test env file
NODE_ENV=production
DSTREAM_DEVTOOLS=0
LOG_LEVEL=info
RELAYS=wss://relay.damus.io,wss://nos.lol
BAD_RELAYS=wss://relay.damus.io ws://127.0.0.1:7777 wss://[::1]:7000 wss://relay.local
HLS_ORIGIN=https://hls.stream.example.com
HLS_LOCAL=https://localhost:8443
ICE=stun:stun.l.google.com:19302,turns:turn.example.com:5349?transport=tcp
ICE_NO_TURN=stun:stun.l.google.com:19302
SESSION_SECRET={SESSION}
NEXTAUTH_SECRET={NEXTAUTH}
WEAK_SECRET={WEAK}
ENCRYPTION_KEY={ENC_KEY}
SHORT_KEY=3f9a1c7e5b2d
NOSTR_NSEC_HEX={NSEC}
DATABASE_URL=postgres://app:{DB_PASSWORD}@db.example.com:5432/app
REDIS_URL=redis://:{REDIS_PASSWORD}@redis.example.com:6379/0
CORS_ORIGINS=https://app.example.com,https://admin.example.com
CORS_ANY=*
CORS_LIST_ANY=https://app.example.com, *
CORS_NULL=null
NIP05_POLICY=optional
RPC_ENABLED=true
RPC_PASSWORD={RPC_PASSWORD}
OTHER_RPC_ENABLED=true
OTHER_RPC_PASSWORD=
OFF_RPC_ENABLED=0
MODE=strict
"""


@pytest.fixture
def env_path(tmp_path: Path) -> Path:
    path = tmp_path / "app.env"
    path.write_text(ENV_TEXT.lstrip("\n"), encoding="utf-8")
    return path


def evaluate(env_path: Path, *rules: dict) -> list[Finding]:
    return check_config(ConfigParams.model_validate({"env_file": env_path, "rules": list(rules)}))


def rule_findings(findings: list[Finding]) -> list[Finding]:
    """Without the env file's own findings (config.env_file*)."""
    return [f for f in findings if not f.check_id.startswith("config.env_file")]


def one(findings: list[Finding], check_id: str, target: str) -> Finding:
    matches = [f for f in findings if f.check_id == check_id and f.target == target]
    assert len(matches) == 1, [(f.check_id, f.target) for f in findings]
    return matches[0]


# --------------------------------------------------------------------------- each kind


def test_required_passes_and_fails_per_key(env_path):
    found = rule_findings(
        evaluate(env_path, {"kind": "required", "keys": ["NODE_ENV", "MISSING_KEY", "OTHER_RPC_PASSWORD"]})
    )
    assert [(f.check_id, f.target, f.status) for f in found] == [
        ("config.required", "app.env:NODE_ENV", Status.PASS),
        ("config.required", "app.env:MISSING_KEY", Status.FAIL),
        ("config.required", "app.env:OTHER_RPC_PASSWORD", Status.FAIL),
    ]
    # A required key is shown by shape only, whatever its name: never its value.
    assert found[0].severity is Severity.HIGH and found[0].observed.startswith("present, 10 chars, classes lower")
    assert "production" not in found[0].observed and found[0].observed.endswith("(line 2)")
    assert found[1].observed == "absent" and found[2].observed == "present but empty (line 27)"
    assert found[1].title == "MISSING_KEY is set"
    assert "Set MISSING_KEY in the env file" in found[1].remediation


def test_equals(env_path):
    found = evaluate(
        env_path,
        {"kind": "equals", "key": "DSTREAM_DEVTOOLS", "value": 0, "id": "config.devtools.off"},
        {"kind": "equals", "key": "MODE", "value": "production", "severity": "medium"},
        {"kind": "equals", "key": "NODE_ENV", "value": "PRODUCTION", "ignore_case": True, "id": "config.node_env"},
    )
    devtools = one(found, "config.devtools.off", "app.env:DSTREAM_DEVTOOLS")
    assert devtools.status is Status.PASS and devtools.expected == "exactly '0'"
    mode = one(found, "config.equals", "app.env:MODE")
    assert mode.status is Status.FAIL and mode.severity is Severity.MEDIUM
    assert (
        mode.observed == "strict (line 29)" and mode.remediation == "Set MODE=production in the env file and redeploy."
    )
    assert one(found, "config.node_env", "app.env:NODE_ENV").status is Status.PASS


def test_one_of(env_path):
    found = evaluate(
        env_path,
        {"kind": "one_of", "key": "NIP05_POLICY", "values": ["off", "optional", "required"]},
        {"kind": "one_of", "key": "MODE", "values": ["off", "lenient"], "id": "config.mode"},
    )
    assert one(found, "config.one_of", "app.env:NIP05_POLICY").status is Status.PASS
    mode = one(found, "config.mode", "app.env:MODE")
    assert mode.status is Status.FAIL and mode.expected == "one of: off, lenient" and mode.severity is Severity.MEDIUM


def test_url_single_and_list(env_path):
    found = evaluate(
        env_path,
        {"kind": "url", "key": "HLS_ORIGIN", "id": "config.hls.https"},
        {"kind": "url", "key": "RELAYS", "schemes": ["wss"], "allow_list": True, "id": "config.relays.wss"},
        {"kind": "url", "key": "BAD_RELAYS", "schemes": ["wss"], "allow_list": True, "id": "config.relays.wss"},
        {"kind": "url", "key": "RELAYS", "schemes": ["wss"], "id": "config.relays.single"},  # a list is not one URL
        {"kind": "url", "key": "DATABASE_URL", "schemes": ["postgres", "postgresql"], "id": "config.db.url"},
    )
    assert one(found, "config.hls.https", "app.env:HLS_ORIGIN").status is Status.PASS
    good = one(found, "config.relays.wss", "app.env:RELAYS")
    assert good.status is Status.PASS and good.observed == "wss://relay.damus.io, wss://nos.lol (line 5)"
    bad = one(found, "config.relays.wss", "app.env:BAD_RELAYS")
    assert bad.status is Status.FAIL
    assert bad.observed.startswith("1 of 4 not acceptable: ws://127.0.0.1:7777 uses ws://, not wss://")
    assert bad.expected == "only wss:// URLs, each naming a host"
    assert one(found, "config.relays.single", "app.env:RELAYS").status is Status.FAIL
    database = one(found, "config.db.url", "app.env:DATABASE_URL")
    assert database.status is Status.PASS
    assert database.observed == "postgres://app:[REDACTED]@db.example.com:5432/app (line 17)"


def test_public_host_ipv4_ipv6_and_local_names(env_path):
    found = evaluate(
        env_path,
        {"kind": "public_host", "key": "BAD_RELAYS", "allow_list": True, "id": "config.relays.public"},
        {"kind": "public_host", "key": "RELAYS", "allow_list": True, "id": "config.relays.public"},
        {"kind": "public_host", "key": "HLS_ORIGIN"},
        {"kind": "public_host", "key": "HLS_LOCAL"},
        {"kind": "public_host", "key": "ICE", "allow_list": True, "id": "config.ice.public"},
    )
    bad = one(found, "config.relays.public", "app.env:BAD_RELAYS")
    assert bad.status is Status.FAIL
    assert bad.observed == (
        "3 of 4 not public: 127.0.0.1 is a loopback address (in ws://127.0.0.1:7777); "
        "::1 is a loopback address (in wss://[::1]:7000); "
        "relay.local is a local-only host name (in wss://relay.local) (line 6)"
    )
    assert one(found, "config.relays.public", "app.env:RELAYS").status is Status.PASS
    assert one(found, "config.public_host", "app.env:HLS_ORIGIN").observed == "public: hls.stream.example.com (line 7)"
    local = one(found, "config.public_host", "app.env:HLS_LOCAL")
    assert local.status is Status.FAIL and local.observed.startswith("localhost is a local-only host name")
    ice = one(found, "config.ice.public", "app.env:ICE")
    assert ice.status is Status.PASS and ice.observed == "public: stun.l.google.com, turn.example.com (line 9)"


def test_secret_strength(env_path):
    found = evaluate(
        env_path,
        {"kind": "secret_strength", "keys": ["SESSION_SECRET", "NEXTAUTH_SECRET", "WEAK_SECRET"]},
        {"kind": "secret_strength", "key": "SESSION_SECRET", "min_length": 64, "id": "config.session.long"},
    )
    assert one(found, "config.secret_strength", "app.env:SESSION_SECRET").status is Status.PASS
    assert one(found, "config.secret_strength", "app.env:NEXTAUTH_SECRET").status is Status.PASS
    weak = one(found, "config.secret_strength", "app.env:WEAK_SECRET")
    assert weak.status is Status.FAIL and weak.severity is Severity.HIGH
    assert weak.observed.startswith("present, 9 chars, classes lower+upper+digit+symbol, ~")
    assert "only 9 characters (at least 32 required)" in weak.observed
    assert "openssl rand" in weak.remediation
    long = one(found, "config.session.long", "app.env:SESSION_SECRET")
    assert long.status is Status.FAIL and "only 34 characters (at least 64 required)" in long.observed


def test_secret_strength_flags_a_placeholder(tmp_path):
    path = tmp_path / "p.env"
    path.write_text("SESSION_SECRET=changeme\nAPI_TOKEN=your-api-token-goes-here-0000000000000\n")
    found = evaluate(path, {"kind": "secret_strength", "keys": ["SESSION_SECRET", "API_TOKEN"]})
    stand_in = one(found, "config.secret_strength", "p.env:SESSION_SECRET")
    assert stand_in.status is Status.FAIL and "commonly used stand-in value" in stand_in.observed
    assert "changeme" not in stand_in.model_dump_json()
    template = one(found, "config.secret_strength", "p.env:API_TOKEN")
    assert template.status is Status.FAIL and "commonly used stand-in value" in template.observed


def test_hex_key(env_path):
    found = evaluate(
        env_path,
        {"kind": "hex_key", "key": "ENCRYPTION_KEY"},
        {"kind": "hex_key", "key": "SHORT_KEY"},
        {"kind": "hex_key", "key": "SESSION_SECRET", "length": 34},
        {"kind": "hex_key", "key": "NOSTR_NSEC_HEX", "length": 32},
    )
    good = one(found, "config.hex_key", "app.env:ENCRYPTION_KEY")
    assert good.status is Status.PASS and good.observed.startswith("present, 64 chars, classes lower+digit")
    short = one(found, "config.hex_key", "app.env:SHORT_KEY")
    assert short.status is Status.FAIL and "12 characters, not 64" in short.observed
    assert "openssl rand -hex 32" in short.remediation
    not_hex = one(found, "config.hex_key", "app.env:SESSION_SECRET")
    assert not_hex.status is Status.FAIL and "contains characters that are not hexadecimal" in not_hex.observed
    assert one(found, "config.hex_key", "app.env:NOSTR_NSEC_HEX").status is Status.PASS


def test_hex_key_rejects_a_repeated_pattern(tmp_path):
    path = tmp_path / "k.env"
    path.write_text("ENCRYPTION_KEY=" + "0123456789abcdef" * 4 + "\nZERO_KEY=" + "0" * 64 + "\n")
    found = evaluate(path, {"kind": "hex_key", "keys": ["ENCRYPTION_KEY", "ZERO_KEY"]})
    assert "repeats a 16-character pattern" in one(found, "config.hex_key", "k.env:ENCRYPTION_KEY").observed
    assert "is one character repeated" in one(found, "config.hex_key", "k.env:ZERO_KEY").observed


def test_not_wildcard(env_path):
    found = evaluate(
        env_path, {"kind": "not_wildcard", "keys": ["CORS_ORIGINS", "CORS_ANY", "CORS_LIST_ANY", "CORS_NULL"]}
    )
    statuses = {f.target: f.status for f in rule_findings(found)}
    assert statuses == {
        "app.env:CORS_ORIGINS": Status.PASS,
        "app.env:CORS_ANY": Status.FAIL,
        "app.env:CORS_LIST_ANY": Status.FAIL,
        "app.env:CORS_NULL": Status.FAIL,
    }
    assert one(found, "config.not_wildcard", "app.env:CORS_LIST_ANY").observed == (
        "https://app.example.com, * (wildcard: *) (line 21)"
    )


def test_list_min_count(env_path):
    found = evaluate(
        env_path,
        {"kind": "list_min_count", "key": "RELAYS", "min_count": 2, "scheme": "wss", "id": "config.relays.fleet"},
        {"kind": "list_min_count", "key": "BAD_RELAYS", "min_count": 4, "scheme": "wss", "id": "config.relays.fleet"},
        {"kind": "list_min_count", "key": "ICE", "min_count": 1, "scheme": ["turn", "turns"], "id": "config.ice.turn"},
        {
            "kind": "list_min_count",
            "key": "ICE_NO_TURN",
            "min_count": 1,
            "scheme": ["turn", "turns"],
            "id": "config.ice.turn",
        },
    )
    assert one(found, "config.relays.fleet", "app.env:RELAYS").status is Status.PASS
    bad = one(found, "config.relays.fleet", "app.env:BAD_RELAYS")
    assert bad.status is Status.FAIL and bad.observed.startswith("3 of 4 distinct entries count")
    assert bad.expected == "at least 4 distinct wss:// entries" and bad.severity is Severity.MEDIUM
    assert one(found, "config.ice.turn", "app.env:ICE").status is Status.PASS
    no_turn = one(found, "config.ice.turn", "app.env:ICE_NO_TURN")
    assert no_turn.status is Status.FAIL and no_turn.expected == "at least 1 distinct turn: or turns: entries"


def test_conditional_both_branches(env_path):
    found = evaluate(
        env_path,
        {
            "kind": "conditional",
            "id": "config.rpc.auth",
            "if": {"key": "RPC_ENABLED", "truthy": True},
            "then": {"kind": "required", "key": "RPC_PASSWORD"},
        },
        {
            "kind": "conditional",
            "id": "config.rpc.auth",
            "if": {"key": "OTHER_RPC_ENABLED", "truthy": True},
            "then": {"kind": "required", "key": "OTHER_RPC_PASSWORD"},
            "severity": "critical",
        },
        {
            "kind": "conditional",
            "id": "config.rpc.auth",
            "if": {"key": "OFF_RPC_ENABLED", "truthy": True},
            "then": {"kind": "required", "key": "OFF_RPC_PASSWORD"},
        },
        {
            "kind": "conditional",
            "if": {"key": "MODE", "one_of": ["strict", "paranoid"]},
            "then": {"kind": "secret_strength", "key": "WEAK_SECRET", "id": "config.strict.secret"},
        },
        {
            "kind": "conditional",
            "if": {"key": "MODE", "equals": "lenient"},
            "then": {"kind": "equals", "key": "LOG_LEVEL", "value": "debug"},
        },
    )
    enabled = one(found, "config.rpc.auth", "app.env:RPC_PASSWORD")
    assert enabled.status is Status.PASS
    assert enabled.observed.startswith("RPC_ENABLED is true, so: present, 21 chars")
    assert enabled.title == "RPC_PASSWORD is set when RPC_ENABLED is on"
    missing = one(found, "config.rpc.auth", "app.env:OTHER_RPC_PASSWORD")
    assert missing.status is Status.FAIL and missing.severity is Severity.CRITICAL
    assert missing.observed == "OTHER_RPC_ENABLED is true, so: present but empty (line 27)"
    off = one(found, "config.rpc.auth", "app.env:OFF_RPC_PASSWORD")
    assert off.status is Status.SKIP and off.observed == "not applicable: OFF_RPC_ENABLED is 0"
    # id and severity come from the then-rule when the conditional does not set them
    strict = one(found, "config.strict.secret", "app.env:WEAK_SECRET")
    assert strict.status is Status.FAIL and strict.severity is Severity.HIGH
    lenient = one(found, "config.conditional", "app.env:LOG_LEVEL")
    assert lenient.status is Status.SKIP and lenient.observed == "not applicable: MODE is strict"


# --------------------------------------------------------------------------- absent keys, on_fail


def test_absent_key_fails_unless_optional_and_on_fail_warn(env_path):
    found = evaluate(
        env_path,
        {"kind": "url", "key": "STATUS_URL", "id": "config.status.strict"},
        {"kind": "url", "key": "STATUS_URL", "optional": True, "id": "config.status.optional"},
        {"kind": "one_of", "key": "MODE", "values": ["off"], "on_fail": "warn", "id": "config.mode.advice"},
        {"kind": "required", "key": "ABSENT", "on_fail": "warn", "id": "config.absent.advice"},
    )
    assert one(found, "config.status.strict", "app.env:STATUS_URL").status is Status.FAIL
    optional = one(found, "config.status.optional", "app.env:STATUS_URL")
    assert optional.status is Status.SKIP and optional.observed == "absent"
    assert one(found, "config.mode.advice", "app.env:MODE").status is Status.WARN
    assert one(found, "config.absent.advice", "app.env:ABSENT").status is Status.WARN


def test_conditional_then_branch_ignores_optional(env_path):
    found = evaluate(
        env_path,
        {
            "kind": "conditional",
            "if": {"key": "RPC_ENABLED", "truthy": True},
            "then": {"kind": "url", "key": "RPC_URL", "optional": True},
        },
    )
    assert one(found, "config.conditional", "app.env:RPC_URL").status is Status.FAIL


def test_references_title_and_remediation_overrides(env_path):
    overrides = {
        "kind": "equals",
        "key": "DSTREAM_DEVTOOLS",
        "title": "Devtools are off",
        "remediation": "Set it to 0.",
        "references": ["dstream checklist §1: production devtools state"],
    }
    found = evaluate(
        env_path,
        {**overrides, "value": "1", "id": "config.devtools.on"},  # DSTREAM_DEVTOOLS=0 in the file: fails
        {**overrides, "value": "0", "id": "config.devtools.off"},
    )
    failed = one(found, "config.devtools.on", "app.env:DSTREAM_DEVTOOLS")
    assert failed.status is Status.FAIL
    assert failed.title == "Devtools are off" and failed.remediation == "Set it to 0."
    assert failed.references == ("dstream checklist §1: production devtools state",)
    assert failed.area == "config"
    passed = one(found, "config.devtools.off", "app.env:DSTREAM_DEVTOOLS")
    assert passed.status is Status.PASS and passed.title == "Devtools are off"
    assert passed.remediation == "", "a pass has nothing to fix (the catalog's builder)"


def test_rule_findings_are_family_members_with_the_rule_s_severity_and_why(env_path):
    """A rule's finding is a ``config.*`` family member: its own title/references, and a severity
    that says where it comes from (params, or the default of the rule's kind)."""
    from harden_lib.catalog import lookup

    found = evaluate(
        env_path,
        {"kind": "one_of", "key": "NIP05_POLICY", "values": ["off", "required"], "id": "config.nip05"},
        {"kind": "url", "key": "HLS_LOCAL", "schemes": ["https"], "severity": "low", "id": "config.hls.scheme"},
        {"kind": "url", "key": "HLS_ORIGIN", "severity": "critical", "id": "config.hls.origin"},
        {"kind": "not_wildcard", "key": "CORS_ANY"},
    )
    nip05 = one(found, "config.nip05", "app.env:NIP05_POLICY")
    assert (nip05.status, nip05.severity) == (Status.FAIL, Severity.MEDIUM)
    assert nip05.severity_reason == "the default of a one_of rule"
    scheme = one(found, "config.hls.scheme", "app.env:HLS_LOCAL")
    assert (scheme.status, scheme.severity, scheme.severity_reason) == (
        Status.PASS,
        Severity.LOW,
        "set by the rule in params",
    )
    origin = one(found, "config.hls.origin", "app.env:HLS_ORIGIN")
    assert (origin.severity, origin.severity_reason) == (Severity.CRITICAL, "set by the rule in params")
    wildcard = one(found, "config.not_wildcard", "app.env:CORS_ANY")
    assert (wildcard.status, wildcard.severity, wildcard.severity_reason) == (Status.FAIL, Severity.HIGH, "")
    assert wildcard.title == "CORS_ANY does not allow every origin", "the rule's title, not the family's"
    assert lookup("config.hls.origin").family and lookup("config.hls.origin").title != origin.title
    # The env file's own checks are exact catalog ids, explained by their own entry (with its references).
    env_file = one(found, "config.env_file", "app.env")
    assert not lookup("config.env_file").family
    assert env_file.severity is Severity.INFO and env_file.severity_reason
    assert any("https://12factor.net/config" in r for r in env_file.references)


def test_every_config_finding_resolves_in_the_catalog():
    """Each id the demo emits is the config area's: an exact entry, or a member of config.*."""
    from harden_lib.catalog import catalog

    env = load_environment(ROOT / "params" / "demo.yaml")
    findings = run(env)
    fixed = {s.id for s in catalog().for_area("config") if not s.family}
    assert {f.check_id for f in findings} & fixed >= {"config.env_file", "config.env_file.syntax"}
    for f in findings:
        spec = catalog().lookup(f.check_id)
        assert spec.area == "config" and f.area == "config"
        assert spec.family == (f.check_id not in fixed), f.check_id


def test_a_rule_that_cannot_run_is_an_error_of_that_rule(env_path, monkeypatch):
    """A bug in a rule kind must neither crash the area nor pass: an error, at the rule's severity."""
    from harden_lib.checks.config_rules import UrlRule

    def broken(self, value, show):
        raise KeyError(value)  # the value must not travel into the finding either

    monkeypatch.setattr(UrlRule, "check", broken)
    found = evaluate(
        env_path,
        {"kind": "url", "key": "HLS_ORIGIN", "severity": "medium", "id": "config.hls.valid"},
        {"kind": "required", "key": "NODE_ENV"},
    )
    error = one(found, "config.hls.valid", "app.env:HLS_ORIGIN")
    assert (error.status, error.severity, error.severity_reason) == (
        Status.ERROR,
        Severity.MEDIUM,
        "set by the rule in params",
    )
    assert "could not run" in error.observed and "KeyError" not in error.observed
    assert "hls.stream.example.com" not in error.model_dump_json()
    assert one(found, "config.required", "app.env:NODE_ENV").status is Status.PASS


# --------------------------------------------------------------------------- the env file itself


def test_env_file_finding_and_no_rules_warning(env_path):
    found = evaluate(env_path)
    assert [(f.check_id, f.status, f.target) for f in found] == [
        ("config.env_file", Status.PASS, "app.env"),
        ("config.rules", Status.WARN, "app.env"),
    ]
    assert found[0].observed == "28 keys read"


def test_missing_env_file_is_one_error(tmp_path):
    found = evaluate(tmp_path / "gone.env", {"kind": "required", "key": "A"})
    assert len(found) == 1
    assert (found[0].check_id, found[0].status, found[0].severity, found[0].target) == (
        "config.env_file",
        Status.ERROR,
        Severity.HIGH,
        "gone.env",
    )
    assert "gone.env: env file does not exist" in found[0].observed


def test_no_env_file_configured_is_one_skip():
    found = check_config(ConfigParams(rules=[{"kind": "required", "key": "A"}]))
    assert [(f.check_id, f.status) for f in found] == [("config.env_file", Status.SKIP)]
    assert Status.PASS not in {f.status for f in found}


def test_malformed_lines_warn_with_line_numbers(tmp_path):
    path = tmp_path / "broken.env"
    path.write_text("A=1\n\nTRANSCODER PROFILES=720p\nB=2\n'unclosed=3\nB=4\n")
    found = evaluate(path, {"kind": "required", "key": "TRANSCODER_PROFILES"})
    syntax = [f for f in found if f.check_id == "config.env_file.syntax"]
    assert [(f.status, f.target, f.severity) for f in syntax] == [
        (Status.WARN, "broken.env:3", Severity.MEDIUM),
        (Status.WARN, "broken.env:5", Severity.MEDIUM),
    ]
    assert syntax[0].observed.startswith("line 3: not a KEY=VALUE statement")
    assert "720p" not in syntax[0].observed  # the line's text could be a secret: never shown
    duplicate = one(found, "config.env_file.duplicate_key", "broken.env:B")
    assert duplicate.status is Status.WARN and duplicate.observed == "defined on lines 4, 6; the last one (line 6) wins"
    assert one(found, "config.env_file", "broken.env").observed == (
        "2 keys read; 2 line(s) with syntax problems; 1 key(s) defined more than once"
    )
    assert one(found, "config.required", "broken.env:TRANSCODER_PROFILES").status is Status.FAIL


# --------------------------------------------------------------------------- params validation


def write_params(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "env.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.mark.parametrize(
    ("rules", "key", "problem"),
    [
        ("[{kind: nope, key: A}]", "config.rules[0]", "unknown rule kind; known kinds here: required, equals"),
        ("[{key: A}]", "config.rules[0]", "missing 'kind': one of required"),
        ("[{kind: required}]", "config.rules[0]", "give either 'key' (one env key) or 'keys'"),
        ("[{kind: required, key: A, keys: [B]}]", "config.rules[0]", "give either 'key'"),
        ("[{kind: required, key: A}, {kind: equals, key: B}]", "config.rules[1].value", "Field required"),
        ("[{kind: required, key: A, optional: true}]", "config.rules[0].optional", "unknown key"),
        ("[{kind: url, key: A, schemes: ['ht tp']}]", "config.rules[0].schemes", "schemes are names like https"),
        ("[{kind: required, key: A, id: Foo}]", "config.rules[0].id", "starting with 'config.'"),
        # harden's own config checks: the catalog would explain such a rule as the env-file check
        ("[{kind: required, key: A, id: config.env_file}]", "config.rules[0].id", "harden's own config checks"),
        (
            "[{kind: conditional, if: {key: A, truthy: true}, then: {kind: required, key: B, id: config.rules}}]",
            "config.rules[0].then.id",
            "config.rules is one of harden's own config checks",
        ),
        ("[{kind: required, key: '1A'}]", "config.rules[0].key", "must be an env key name"),
        ("[{kind: required, key: A, on_fail: maybe}]", "config.rules[0].on_fail", "'fail' or 'warn'"),
        ("[{kind: hex_key, key: A, length: 1}]", "config.rules[0].length", "greater than or equal to 2"),
        (
            "[{kind: conditional, if: {key: A}, then: {kind: required, key: B}}]",
            "config.rules[0].if",
            "give exactly one of 'equals', 'one_of' or 'truthy'",
        ),
        (
            "[{kind: conditional, if: {key: A, truthy: true}, then: {kind: equals, key: B}}]",
            "config.rules[0].then.value",
            "Field required",
        ),
        (
            "[{kind: conditional, if: {key: A, truthy: true}, then: {kind: conditional}}]",
            "config.rules[0].then",
            "unknown rule kind",
        ),
        (
            "[{kind: required, key: A}, {kind: required, keys: [B, A]}]",
            "config.rules",
            "rules[0] and rules[1] both check A as config.required; give one of them a distinct 'id'",
        ),
    ],
)
def test_bad_rules_are_params_errors_naming_file_and_key_path(tmp_path, rules, key, problem):
    path = write_params(tmp_path, f"config:\n  rules: {rules}\n")
    with pytest.raises(ParamsError) as caught:
        load_environment(path, environ={})
    assert caught.value.file == str(path.resolve())
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path.resolve()}: {key}: ")


def test_env_file_resolves_against_the_params_file(tmp_path, env_path):
    (tmp_path / "params").mkdir()
    path = write_params(
        tmp_path / "params", "config:\n  env_file: ../app.env\n  rules: [{kind: required, key: NODE_ENV}]\n"
    )
    env = load_environment(path, environ={})
    assert env.config.env_file == env_path
    assert one(run(env), "config.required", "app.env:NODE_ENV").status is Status.PASS


# --------------------------------------------------------------------------- no secret anywhere

LEAK_RULES = [
    {"kind": "required", "keys": ["SESSION_SECRET", "DATABASE_URL", "REDIS_URL", "NOSTR_NSEC_HEX", "RPC_PASSWORD"]},
    {"kind": "equals", "keys": ["SESSION_SECRET", "NOSTR_NSEC_HEX", "ENCRYPTION_KEY"], "value": "x"},
    {"kind": "one_of", "key": "NEXTAUTH_SECRET", "values": ["a", "b"]},
    {"kind": "url", "keys": ["DATABASE_URL", "REDIS_URL", "WEAK_SECRET"], "schemes": ["https"]},
    {"kind": "public_host", "keys": ["DATABASE_URL", "REDIS_URL"]},
    {"kind": "secret_strength", "keys": ["SESSION_SECRET", "NEXTAUTH_SECRET", "WEAK_SECRET", "NOSTR_NSEC_HEX"]},
    {"kind": "hex_key", "keys": ["ENCRYPTION_KEY", "NOSTR_NSEC_HEX", "SESSION_SECRET"]},
    {"kind": "not_wildcard", "keys": ["SESSION_SECRET", "WEAK_SECRET"]},
    {"kind": "list_min_count", "keys": ["DATABASE_URL", "SESSION_SECRET"], "min_count": 3},
    {
        "kind": "conditional",
        "if": {"key": "SESSION_SECRET", "equals": "nope"},
        "then": {"kind": "required", "key": "RPC_PASSWORD"},
    },
    {
        "kind": "conditional",
        "if": {"key": "RPC_ENABLED", "truthy": True},
        "id": "config.rpc.value",
        "then": {"kind": "equals", "key": "RPC_PASSWORD", "value": "y"},
    },
]


def test_no_secret_value_in_findings_repr_or_inventory(env_path):
    params = ConfigParams.model_validate({"env_file": env_path, "rules": LEAK_RULES})
    findings = check_config(params)
    assert len(findings) > 25
    texts = [f.model_dump_json() for f in findings]
    texts.append(repr(findings))
    texts.append(str(findings))
    inventory = env_inventory(config.load_env_file(env_path), params.rules)
    texts.append(inventory.to_csv())
    texts.append(inventory.to_html())
    texts.append(repr(config.load_env_file(env_path)))
    blob = "\n".join(texts)
    for secret in ALL_SECRETS:
        assert secret not in blob, f"secret {secret[:4]}… leaked"
    # and the secrets are really in the file, so this test could fail
    assert all(secret in env_path.read_text() for secret in ALL_SECRETS)


# --------------------------------------------------------------------------- evidence


def test_env_inventory_kinds_shown_values_and_covering_rules(env_path):
    params = ConfigParams.model_validate(
        {
            "env_file": env_path,
            "rules": [
                {"kind": "hex_key", "key": "NOSTR_NSEC_HEX", "length": 32, "id": "config.nsec"},
                {"kind": "url", "key": "RELAYS", "schemes": ["wss"], "allow_list": True, "id": "config.relays.wss"},
                {"kind": "list_min_count", "key": "RELAYS", "id": "config.relays.fleet"},
                {
                    "kind": "conditional",
                    "id": "config.rpc.auth",
                    "if": {"key": "RPC_ENABLED", "truthy": True},
                    "then": {"kind": "required", "key": "RPC_PASSWORD"},
                },
                {"kind": "required", "key": "NOT_IN_FILE"},
            ],
        }
    )
    frame = env_inventory(config.load_env_file(env_path), params.rules)
    assert list(frame.columns) == ["key", "line", "kind", "shown", "rules"]
    rows = frame.set_index("key")
    assert rows.loc["NOSTR_NSEC_HEX", "kind"] == "secret"
    assert rows.loc["NOSTR_NSEC_HEX", "shown"].startswith("present, 32 chars")
    assert rows.loc["DATABASE_URL", "kind"] == "url"
    assert rows.loc["DATABASE_URL", "shown"] == "postgres://app:[REDACTED]@db.example.com:5432/app"
    assert rows.loc["DSTREAM_DEVTOOLS", "kind"] == "flag" and rows.loc["DSTREAM_DEVTOOLS", "shown"] == "0"
    assert rows.loc["MODE", "kind"] == "other" and rows.loc["MODE", "line"] == 29
    assert rows.loc["RELAYS", "rules"] == "config.relays.wss, config.relays.fleet"
    assert rows.loc["RPC_ENABLED", "rules"] == "config.rpc.auth" and rows.loc["RPC_PASSWORD", "kind"] == "secret"
    assert rows.loc["NOT_IN_FILE", "kind"] == "absent" and rows.loc["NOT_IN_FILE", "shown"] == "absent"
    assert len(frame) == 29  # 28 keys of the file + the one a rule names


def test_plot_rule_outcomes_stacks_statuses_per_kind(env_path):
    from matplotlib.figure import Figure

    findings = evaluate(
        env_path,
        {"kind": "required", "keys": ["NODE_ENV", "MISSING"]},
        {"kind": "equals", "key": "DSTREAM_DEVTOOLS", "value": "0", "id": "config.devtools.off"},
        {"kind": "one_of", "key": "MODE", "values": ["x"], "on_fail": "warn", "id": "config.mode"},
    )
    fig = plot_rule_outcomes(findings)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["one_of", "equals", "required", "env file"]  # first kind at the top
    segments = {c.get_label(): [round(b.get_width()) for b in c] for c in ax.containers}
    assert segments == {"fail": [0, 0, 1, 0], "warn": [1, 0, 0, 0], "pass": [0, 1, 1, 1]}
    assert plot_rule_outcomes([]).axes[0].texts[0].get_text() == "no findings"


# --------------------------------------------------------------------------- the demo


def test_demo_params_show_pass_fail_and_warn():
    env = load_environment(ROOT / "params" / "demo.yaml")
    assert env.config.env_file == ROOT / "harden_lib" / "demo" / "demo.env"
    findings = run(env)
    by_id = {(f.check_id, f.target): f for f in findings}
    statuses = {f.status for f in findings}
    assert {Status.PASS, Status.FAIL, Status.WARN, Status.SKIP} <= statuses
    assert Status.ERROR not in statuses

    def status(check_id: str, key: str) -> Status:
        return by_id[(check_id, f"demo.env:{key}")].status

    assert status("config.devtools.off", "DSTREAM_DEVTOOLS") is Status.FAIL  # the later DSTREAM_DEVTOOLS=1 wins
    assert status("config.encryption_key.hex", "ENCRYPTION_KEY") is Status.PASS
    assert status("config.relays.wss", "NEXT_PUBLIC_NOSTR_RELAYS") is Status.FAIL
    assert status("config.relays.public", "NEXT_PUBLIC_NOSTR_RELAYS") is Status.FAIL
    assert status("config.relays.fleet", "NEXT_PUBLIC_NOSTR_RELAYS") is Status.PASS
    assert status("config.ice.turn", "NEXT_PUBLIC_WEBRTC_ICE_SERVERS") is Status.PASS
    assert status("config.hls.https", "NEXT_PUBLIC_HLS_ORIGIN") is Status.PASS
    assert status("config.hls.public", "NEXT_PUBLIC_HLS_ORIGIN") is Status.PASS
    assert status("config.xmr_session_secret.strength", "DSTREAM_XMR_SESSION_SECRET") is Status.FAIL
    assert status("config.secrets.strength", "NEXTAUTH_SECRET") is Status.PASS
    assert status("config.wallet_rpc.auth", "MONERO_WALLET_RPC_PASSWORD") is Status.FAIL
    assert status("config.cors.origins", "CORS_ORIGINS") is Status.FAIL
    assert status("config.log_level", "LOG_LEVEL") is Status.WARN
    assert status("config.transcoder.profiles", "DSTREAM_TRANSCODER_PROFILES") is Status.WARN
    assert status("config.status_page.https", "NEXT_PUBLIC_STATUS_PAGE_URL") is Status.SKIP
    syntax = [f for f in findings if f.check_id == "config.env_file.syntax"]
    assert [(f.status, f.target) for f in syntax] == [(Status.WARN, "demo.env:24")]
    assert by_id[("config.env_file.duplicate_key", "demo.env:DSTREAM_DEVTOOLS")].status is Status.WARN
    assert all(f.references for f in findings if not f.check_id.startswith("config.env_file"))


def test_demo_secrets_never_reach_findings():
    from dotenv import dotenv_values

    from harden_lib.redact import is_secret_key

    demo_env = ROOT / "harden_lib" / "demo" / "demo.env"
    secrets = [v for k, v in dotenv_values(demo_env).items() if v and is_secret_key(k)]
    secrets += ["MtKl3UAymRyY2jct-gv4m-_LBxCmavDk", "-AmO8MDVrh0ef9NY5TJMuJhY"]  # the URL passwords
    assert len(secrets) >= 6 and all(s in demo_env.read_text() for s in secrets)
    env = load_environment(ROOT / "params" / "demo.yaml")
    findings = run(env)
    blob = repr(findings) + "".join(f.model_dump_json() for f in findings)
    blob += env_inventory(config.load_env_file(demo_env), env.config.rules).to_csv()
    for secret in secrets:
        assert secret not in blob


def test_a_stand_in_secret_is_neither_shown_nor_scrubbed_from_sentences(tmp_path):
    """'secret' as a value must fail by shape, without turning every 'secret' in the report into [REDACTED]."""
    path = tmp_path / "s.env"
    path.write_text("SESSION_SECRET=secret\n")
    found = evaluate(path, {"kind": "secret_strength", "key": "SESSION_SECRET"})
    finding = one(found, "config.secret_strength", "s.env:SESSION_SECRET")
    assert finding.status is Status.FAIL
    assert finding.observed.startswith("present, 6 chars, classes lower, ~")
    assert finding.title == "SESSION_SECRET is a strong random secret"
    assert "[REDACTED]" not in finding.model_dump_json()


def test_a_pasted_token_line_leaks_neither_in_findings_nor_inventory(tmp_path):
    token = "ghp_R8kLm2Qx7Vn4Tz9Wb3Hc6Jd1Fs5Yp0Ae"
    path = tmp_path / "t.env"
    path.write_text(f"A=1\n{token}\n")
    found = evaluate(path, {"kind": "required", "key": "A"})
    syntax = one(found, "config.env_file.syntax", "t.env:2")
    assert syntax.status is Status.WARN and "pasted secret" in syntax.observed
    inventory = env_inventory(config.load_env_file(path))
    assert token not in repr(found) + inventory.to_csv()
    assert list(inventory["key"]) == ["A", "[REDACTED]"]


def _word_canary(prefix: str) -> str:
    """A unique value that does not *look* secret (lower-case words): only the key name can hide it."""
    import secrets as random_secrets
    import string

    return prefix + "-" + "".join(random_secrets.choice(string.ascii_lowercase) for _ in range(14))


def test_secret_names_written_other_ways_are_shown_by_shape_only(tmp_path):
    hidden = {
        key: _word_canary(key.lower().replace("_", "")[:6])
        for key in (
            "PGPASSWORD",
            "MYSQL_PWD",
            "clientSecret",
            "apiKey",
            "SSH_PASSPHRASE",
            "SMTP_PW",
            "GCP_CREDENTIALS",
            "AZURE_CREDENTIAL",
            "JWT_PRIVATE_KEY",
            "db-pass",
        )
    }
    shown = {
        "PUBLIC_KEY": "visible-public-key",
        "PASSENGER_COUNT": "twelve-seats",
        "TOKEN_URL": "https://idp.example.com/token",
    }
    token = _word_canary("status")
    lines = [f"{k}={v}" for k, v in {**hidden, **shown}.items()]
    lines.append(f"STATUS_URL=https://status.example.com/feed?page=2&access_token={token}")
    path = tmp_path / "names.env"
    path.write_text("\n".join(lines) + "\n")
    rules = [
        {"kind": "required", "keys": [*hidden, *shown]},
        {"kind": "url", "key": "STATUS_URL", "schemes": ["https"], "id": "config.status.https"},
    ]
    found = evaluate(path, *rules)
    params = ConfigParams.model_validate({"env_file": path, "rules": rules})
    inventory = env_inventory(config.load_env_file(path), params.rules)
    blob = repr(found) + inventory.to_csv()
    leaked = [k for k, v in {**hidden, "STATUS_URL": token}.items() if v in blob]
    assert not leaked, leaked
    kinds = dict(zip(inventory["key"], inventory["kind"], strict=True))
    assert all(kinds[k] == "secret" for k in hidden)
    values = dict(zip(inventory["key"], inventory["shown"], strict=True))
    assert values["PUBLIC_KEY"] == "visible-public-key" and values["TOKEN_URL"] == "https://idp.example.com/token"
    assert values["STATUS_URL"] == "https://status.example.com/feed?page=2&access_token=[REDACTED]"
    url = one(found, "config.status.https", "names.env:STATUS_URL")
    assert url.status is Status.PASS and "access_token=[REDACTED]" in url.observed


def test_required_never_prints_a_value_whatever_the_key_is_called(tmp_path):
    """A required key often holds a credential under an innocent name: only its shape is shown."""
    values = {"DATABASE_URL": "postgres-" + _word_canary("db"), "RELAY_BLOB": _word_canary("relay"), "MODE": "strict"}
    path = tmp_path / "req.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    found = rule_findings(evaluate(path, {"kind": "required", "keys": list(values)}))
    assert [f.status for f in found] == [Status.PASS] * 3
    for finding, value in zip(found, values.values(), strict=True):
        assert value not in finding.observed
        assert finding.observed.startswith(f"present, {len(value)} chars, classes ")
