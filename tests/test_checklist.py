"""Checklist profiles: parsing a checklist's items, the profile format, inheritance, coverage."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harden_lib import Finding, ParamsError, Severity, Status, cli
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
    - not an item: inside a code block
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
    assert "NOT MAPPED line 15" in capsys.readouterr().err


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
