"""Checklist profiles: parsing a checklist's items, the profile format, inheritance, coverage."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harden_lib import Finding, ParamsError, Severity, Status, checklist, cli
from harden_lib.checklist import (
    Coverage,
    filled_checklist,
    item_status,
    load_profile,
    normalise,
    source_items,
    unmapped,
)
from harden_lib.environment import load_environment

CHECKLIST = textwrap.dedent("""\
    # Hardening

    ## Secrets
    - [ ] **Keep `.env.production` out of git**
    - [x] Rotate keys quarterly

      ```bash
      - not an item: a code block nested in a list item illustrates it
      ```

    ### Rate limits
    | Endpoint | Limit |
    |---|---|
    | login | 5 / 15 min |
    1. Run `npm run smoke`
    """)


def test_source_items_lists_bullets_rows_and_numbered_items_outside_code():
    items = source_items(CHECKLIST)
    assert [(i.line, i.section, i.text) for i in items] == [
        (4, "Secrets", "**Keep `.env.production` out of git**"),
        (5, "Secrets", "Rotate keys quarterly"),
        (14, "Secrets / Rate limits", "| login | 5 / 15 min |"),
        (15, "Secrets / Rate limits", "Run `npm run smoke`"),
    ]
    assert normalise("- [x] **Keep `.env` out**") == "keep .env out"


def write_profile(folder: Path, items: str, params: str = "{}") -> Path:
    (folder / "sources").mkdir(parents=True, exist_ok=True)
    (folder / "sources" / "demo.txt").write_text(CHECKLIST)
    path = folder / "demo.yaml"
    path.write_text(
        "system: demo\ntitle: Demo checklist\nsource: sources/demo.txt\n"
        f"items:\n{textwrap.indent(textwrap.dedent(items), '  ')}\nparams: {params}\n"
    )
    return path


ITEMS = """\
- {id: secrets.env_untracked, section: Secrets, text: "**Keep `.env.production` out of git**",
   checks: [secrets.repo.env_file_tracked]}
- {id: secrets.rotation, section: Secrets, text: Rotate keys quarterly, attestation: keys.rotated}
- {id: ratelimit.login, section: Rate limits, text: "| login | 5 / 15 min |", checks: ["ratelimit.*"]}
- {id: smoke, section: Rate limits, text: "Run `npm run smoke`", command: smoke}
"""


def test_profile_loads_and_every_item_is_mapped(tmp_path, capsys):
    path = write_profile(tmp_path, ITEMS)
    profile = load_profile(path)
    assert [i.coverage for i in profile.items] == [
        Coverage.AUTOMATED,
        Coverage.ATTESTATION,
        Coverage.AUTOMATED,
        Coverage.COMMAND,
    ]
    assert unmapped(profile, path) == []
    assert cli.main(["coverage", str(path)]) == 0
    out = capsys.readouterr().out
    assert "secrets.repo.env_file_tracked" in out and "2 automated check, 1 command, 1 attestation" in out


def test_an_unmapped_item_is_reported(tmp_path, capsys):
    path = write_profile(tmp_path, "\n".join(line for line in ITEMS.splitlines() if "smoke" not in line))
    profile = load_profile(path)
    assert [i.text for i in unmapped(profile, path)] == ["Run `npm run smoke`"]
    assert cli.main(["coverage", str(path)]) == 1
    assert "NOT MAPPED line 15 (list)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ("- {id: a, section: s, text: t1, checks: [x], command: y}", "exactly one of"),
        ("- {id: a, section: s, text: t1}", "needs a note"),
        ("- {id: a, section: s, text: t1, note: x}\n- {id: a, section: s, text: t2, note: y}", "used twice"),
        ("- {id: A!, section: s, text: t1, note: x}", "items.0.id"),
    ],
)
def test_profile_errors_name_file_and_key(tmp_path, item, problem):
    path = write_profile(tmp_path, item)
    with pytest.raises(ParamsError) as caught:
        load_profile(path)
    assert str(caught.value).startswith(str(path.resolve())) and problem in str(caught.value)


def test_environment_inherits_profile_params_and_adds_its_own(tmp_path):
    params = textwrap.dedent("""\
        {attestations: [{id: keys.rotated, title: Keys rotated, owner: ops, max_age_days: 92}],
         gate: {fail_on: medium}, config: {env_file: sources/demo.txt}}""")
    profile = write_profile(tmp_path, ITEMS, params)
    env_file = tmp_path / "prod.yaml"
    env_file.write_text(
        "checklist: demo.yaml\n"
        "attestations:\n  - {id: keys.rotated, date: today-3d, evidence: ticket SEC-1}\n"
        "  - {id: extra.control, title: Extra, owner: eng, max_age_days: 30}\n"
    )
    env = load_environment(env_file, environ={})
    assert env.profile is not None and env.profile.system == "demo"
    assert env.gate.fail_on is Severity.MEDIUM
    assert env.config.env_file == tmp_path / "sources" / "demo.txt"  # resolved against the profile
    rotated, extra = env.attestations
    assert (rotated.id, rotated.owner, rotated.max_age_days, rotated.evidence) == (
        "keys.rotated",
        "ops",
        92,
        "ticket SEC-1",
    )
    assert extra.id == "extra.control"
    assert env.files[0] == profile.resolve()


def test_missing_profile_is_a_params_error(tmp_path):
    env_file = tmp_path / "prod.yaml"
    env_file.write_text("checklist: nowhere.yaml\n")
    with pytest.raises(ParamsError, match=r"checklist: checklist profile .* does not exist"):
        load_environment(env_file, environ={})


def test_filled_checklist_takes_the_worst_outcome_in_checklist_order(tmp_path):
    profile = load_profile(write_profile(tmp_path, ITEMS))

    def finding(check_id: str, status: Status, target: str = "") -> Finding:
        return Finding(area="x", check_id=check_id, title="t", status=status, severity=Severity.HIGH, target=target)

    findings = [
        finding("secrets.repo.env_file_tracked", Status.PASS),
        finding("ratelimit.enforced", Status.PASS),
        finding("ratelimit.headers", Status.WARN),
        finding("commands.run", Status.FAIL, target="smoke"),
    ]
    table = filled_checklist(profile, findings)
    assert list(table["status"]) == ["pass", "not run", "warn", "fail"]
    assert item_status(profile.items[1], [finding("operations.keys.rotated", Status.MANUAL)]) == "manual"


# --------------------------------------------------------------------------- issue 15: every requirement a row

PROSE_AND_CODE = textwrap.dedent("""\
    Release gate
    ============

    This checklist must be read before go-live.

    1. Deployment
    -------------

    Production images must be built by CI. We like coffee.
    Operators should never ssh into containers; logs are enough.
    Run the following:

    ~~~sh
    $ make preflight
    # a comment line is no requirement
    ./scripts/check-env.sh \\
        --strict
    ~~~

    * Pin base images
      ```
      FROM node:22-alpine
      ```

    ## 2. Limits

    **Policy**: Keep login attempts low.
    Informational text without a requirement.
    """)


def test_source_items_find_prose_requirements_and_stand_alone_code_lines():
    items = source_items(PROSE_AND_CODE)
    found = [(i.kind, i.section, i.text) for i in items]
    assert found == [
        ("prose", "1. Deployment", "Production images must be built by CI."),
        ("prose", "1. Deployment", "Operators should never ssh into containers; logs are enough."),
        ("code", "1. Deployment", "make preflight"),
        ("code", "1. Deployment", "./scripts/check-env.sh --strict"),
        ("list", "1. Deployment", "Pin base images"),
        ("prose", "2. Limits", "**Policy**: Keep login attempts low."),
    ], found
    # the preface under the title (even with "must") and a code block nested in a list item are no rows
    assert not any("coffee" in t or "node:22" in t or "read before" in t for _, _, t in found)
    assert [i.line for i in items if i.kind == "code"] == [14, 16]  # a continued line: where it starts


def _finding(check_id: str, status: Status, target: str = "", observed: str = "") -> Finding:
    return Finding(
        area="x", check_id=check_id, title="t", status=status, severity=Severity.HIGH, target=target, observed=observed
    )


@pytest.mark.parametrize(
    ("selector", "target", "expected"),
    [
        ("service:postgres", "service postgres", True),
        ("service:postgres", "service minio", False),
        ("service:Post*", "service postgres-replica", True),
        ("route:/auth/login", "POST https://api.example.com:8443/auth/login/", True),
        ("route:POST /auth/login", "POST https://api.example.com/auth/login", True),
        ("route:GET /auth/login", "POST https://api.example.com/auth/login", False),
        ("route:POST */login", "POST https://127.0.0.1:8443/login", True),
        ("route:POST */login", "GET https://127.0.0.1:8443/auth/login", False),
        ("url:https://other.example/health", "https://127.0.0.1:41419/health", True),
        ("route:/", "https://127.0.0.1:41419/ (cookie: session)", True),
        ("route:/", "https://127.0.0.1:41419/static/app.js", False),
        ("route:*/health", "https://h/api/health", True),
        ("key:database_url", "production.env:DATABASE_URL", True),
        ("key:DATABASE_URL", "DATABASE_URL", True),
        ("key:DATABASE_URL", "production.env:DATABASE_URL_RO", False),
        ("datastore:cache", "redis cache @ redis.conf", True),
        ("datastore:postgres app", "postgres app @ db:5432/app", True),
        ("datastore:app", "redis cache @ redis.conf", False),
        ("command:npm audit", "npm audit", True),
        ("hint:turn-ice", "hint turn-ice", True),
        ("hint:turn-ice", "hint wss-relay", False),
        ("re:cookie: (session|sid)\\)$", "https://x/ (cookie: session)", True),
        ("*minio*", "service minio", True),
    ],
)
def test_target_selectors_match_normalised_targets(selector, target, expected):
    from harden_lib.checklist import Selector

    assert Selector.parse(selector).matches(target) is expected


def test_a_row_is_decided_by_its_own_targets_only(tmp_path):
    items = """\
    - {id: secrets.env_untracked, section: Secrets, text: "**Keep `.env.production` out of git**",
       checks: [{id: containers.ports.internal, target: "service:postgres"}]}
    - {id: secrets.rotation, section: Secrets, text: Rotate keys quarterly, checks: [containers.ports.internal],
       targets: ["service:redis"]}
    - {id: ratelimit.login, section: Rate limits, text: "| login | 5 / 15 min |", checks: ["ratelimit.*"],
       targets: ["route:POST /auth/login"]}
    - {id: smoke, section: Rate limits, text: "Run `npm run smoke`", command: smoke}
    """
    profile = load_profile(write_profile(tmp_path, items))
    findings = [
        _finding("containers.ports.internal", Status.PASS, "service postgres", "not published"),
        _finding("containers.ports.internal", Status.FAIL, "service minio", "published on all interfaces: 9001:9001"),
        _finding("ratelimit.enforced", Status.FAIL, "POST https://h/auth/signup", "no 429 after 13 requests"),
        _finding("ratelimit.enforced", Status.PASS, "POST https://h/auth/login", "429 after 6 requests"),
        _finding("ratelimit.headers", Status.WARN, "POST https://h/auth/login", "no Retry-After"),
    ]
    table = filled_checklist(profile, findings)
    assert list(table["status"]) == ["pass", "not run", "warn", "not run"]
    assert "minio" not in table["evidence"][0] and "service postgres" in table["evidence"][0]
    # a selector matching nothing: not run, and the evidence says which targets were seen
    assert "no containers.ports.internal finding for service:redis" in table["evidence"][1]
    assert "service minio" in table["evidence"][1]
    assert table["evidence"][2].startswith("warn ratelimit.headers")  # the worst first
    assert "signup" not in table["evidence"][2]


def test_evidence_shows_the_worst_first_with_observed_values_capped(tmp_path):
    from harden_lib.checklist import EVIDENCE_ENTRIES

    profile = load_profile(write_profile(tmp_path, ITEMS))
    item = profile.items[2]  # ratelimit.* on every target
    findings = [_finding("ratelimit.enforced", Status.PASS, f"GET https://h/p{n}", "429 after 5") for n in range(6)]
    findings.append(_finding("ratelimit.enforced", Status.FAIL, "GET https://h/late", "x" * 500 + "\nsecond line"))
    text = checklist.evidence(item, findings)
    first, *rest = text.split("; ")
    assert first.startswith("fail ratelimit.enforced [GET https://h/late]: xxx") and "\n" not in text
    assert len(first) < 200 and first.endswith("…")
    assert rest[-1] == f"+{7 - EVIDENCE_ENTRIES} more (2 pass)"


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ("- {id: a, section: s, text: t1, checks: [x.y], targets: ['re:(']}", "invalid regular expression"),
        ("- {id: a, section: s, text: t1, checks: [{id: x.y, target: 'service:'}]}", "no pattern"),
        ("- {id: a, section: s, text: t1, attestation: b, targets: ['service:x']}", "give checks too"),
    ],
)
def test_bad_selectors_are_params_errors(tmp_path, item, problem):
    with pytest.raises(ParamsError, match=problem):
        load_profile(write_profile(tmp_path, item))


def test_coverage_reports_commands_and_attestations_no_item_shows(tmp_path, capsys):
    params = (
        "{commands: {commands: [{name: smoke, run: [echo, ok]}, {name: e2e, run: [echo, ok]}]},"
        " attestations: [{id: keys.rotated, title: Keys rotated, owner: ops}, {id: orphan, title: O, owner: ops}]}"
    )
    path = write_profile(tmp_path, ITEMS, params)
    assert cli.main(["coverage", str(path)]) == 1
    err = capsys.readouterr().err
    assert "NOT ATTACHED command 'e2e'" in err and "NOT ATTACHED attestation 'orphan'" in err
    assert "'smoke'" not in err and "keys.rotated" not in err


def test_headline_counts_undecided_rows_and_never_claims_every_check_ran(tmp_path):
    profile = load_profile(write_profile(tmp_path, ITEMS))
    findings = [
        _finding("secrets.repo.env_file_tracked", Status.PASS),
        _finding("operations.keys.rotated", Status.MANUAL),
    ]
    table = filled_checklist(profile, findings)
    line = checklist.headline(profile, table)
    assert "4 rows" in line and "1 pass" in line and "1 manual" in line and "2 not run" in line
    assert "3 row(s) were not decided" in line
    note = checklist.run_note(profile, findings)
    assert "Every check ran" not in note and "2 checklist row(s) were not run: ratelimit.login, smoke" in note
    everything = [
        *findings,
        _finding("ratelimit.enforced", Status.PASS),
        _finding("commands.run", Status.PASS, "smoke"),
    ]
    assert checklist.run_note(profile, everything) == "Every check ran."
    broken = [*findings, _finding("tls.scan", Status.ERROR, "h:443")]
    assert checklist.run_note(profile, broken) == (
        "1 check(s) could not run (listed above); 2 checklist row(s) were not run: ratelimit.login, smoke."
    )


def test_undecided_rows_close_the_gate_only_when_the_policy_blocks(tmp_path):
    from harden_lib.findings import gate

    profile = load_profile(write_profile(tmp_path, ITEMS))
    findings = [_finding("secrets.repo.env_file_tracked", Status.PASS)]
    warn = checklist.gate_findings(profile, findings, "warn")
    block = checklist.gate_findings(profile, findings, "block")
    assert [f.status for f in warn] == [Status.WARN] and [f.status for f in block] == [Status.ERROR]
    assert "3 not run of 4 rows" in block[0].observed and "smoke (not run)" in block[0].observed
    assert gate([*findings, *warn], Severity.HIGH).verdict == "GO"
    assert gate([*findings, *block], Severity.HIGH).verdict == "NO-GO"
    decided = [
        *findings,
        _finding("operations.keys.rotated", Status.PASS),
        _finding("ratelimit.enforced", Status.PASS),
        _finding("commands.run", Status.PASS, "smoke"),
    ]
    assert checklist.gate_findings(profile, decided, "block") == []


@pytest.mark.parametrize(("policy", "verdict"), [("block", "NO-GO"), ("warn", "GO"), (None, "GO")])
def test_the_environment_policy_decides_whether_undecided_rows_close_the_gate(tmp_path, policy, verdict):
    from harden_lib import governance
    from harden_lib.findings import gate
    from harden_lib.summary import flatten

    write_profile(tmp_path, ITEMS)
    env_file = tmp_path / "prod.yaml"
    gate_line = f"gate: {{checklist_not_run: {policy}}}\n" if policy else ""
    env_file.write_text(f"checklist: demo.yaml\nareas: [secrets]\n{gate_line}")
    env = load_environment(env_file, environ={})
    per_area = {"secrets": [_finding("secrets.repo.env_file_tracked", Status.PASS)]}
    governed = governance.apply(env, per_area)
    undecided = [f for f in flatten(governed) if f.check_id == "governance.checklist.undecided"]
    assert len(undecided) == 1 and "3 not run of 4 rows" in undecided[0].observed
    assert gate(flatten(governed), env.gate.fail_on).verdict == verdict


def test_an_unknown_not_run_policy_is_a_params_error(tmp_path):
    write_profile(tmp_path, ITEMS)
    env_file = tmp_path / "prod.yaml"
    env_file.write_text("checklist: demo.yaml\ngate: {checklist_not_run: maybe}\n")
    with pytest.raises(ParamsError, match="checklist_not_run"):
        load_environment(env_file, environ={})


def test_a_row_whose_named_check_never_ran_is_not_a_pass(tmp_path):
    items = """\
    - {id: secrets.env_untracked, section: Secrets, text: "**Keep `.env.production` out of git**",
       checks: [auth.webhook_signature, config.stripe.webhook_secret]}
    - {id: secrets.rotation, section: Secrets, text: Rotate keys quarterly, checks: [tls.scan, tls.protocol.tls1_2]}
    - {id: ratelimit.login, section: Rate limits, text: "| login | 5 / 15 min |", checks: [surface.route],
       targets: ["route:/", "route:/settings"]}
    - {id: smoke, section: Rate limits, text: "Run `npm run smoke`", checks: [auth.webhook_signature, containers.user]}
    """
    params = "{config: {rules: [{id: config.stripe.webhook_secret, kind: required, key: STRIPE_WEBHOOK_SECRET}]}}"
    profile = load_profile(write_profile(tmp_path, items, params))
    findings = [
        _finding("config.stripe.webhook_secret", Status.PASS, "prod.env:STRIPE_WEBHOOK_SECRET"),
        _finding("tls.protocol.tls1_2", Status.PASS, "h:443"),  # tls.scan is silent when the scan worked
        _finding("surface.route", Status.PASS, "https://h/"),
        _finding("containers.user", Status.FAIL, "service api"),
    ]
    table = filled_checklist(profile, findings)
    # the signature was never tested (no auth area in the run): the secret's pass does not make the row pass
    assert table["status"][0] == "not run"
    assert table["evidence"][0].startswith("not run: auth.webhook_signature did not run")
    assert "pass config.stripe.webhook_secret" in table["evidence"][0]
    assert table["status"][1] == "pass"  # the tls area ran: its silent id is no gap
    assert table["status"][2] == "not run" and "no surface.route finding for route:/settings" in table["evidence"][2]
    assert table["status"][3] == "fail"  # a failure still shows, whatever else did not run


def test_a_plain_text_checklist_without_sections_still_yields_its_requirements():
    """Written another way: Windows line endings, no Markdown headings, letter and bullet-sign lists."""
    text = (
        "Release rules\r\n\r\nAll services must run as non-root.\r\n"
        "This checklist is reviewed yearly and must be followed.\r\n"
        "a) Keep TLS certificates renewed\r\n\u2022 Rotate keys\r\nWe deploy on Fridays.\r\n"
    )
    assert [(i.kind, i.text) for i in source_items(text)] == [
        ("prose", "All services must run as non-root."),
        ("list", "Keep TLS certificates renewed"),
        ("list", "Rotate keys"),
    ]
