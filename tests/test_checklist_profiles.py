"""The shipped profiles of the four real checklists: nothing may silently be missing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harden_lib import cli
from harden_lib.checklist import Coverage, load_profile, source_items, unattached, unmapped
from harden_lib.environment import load_environment

CHECKLISTS = Path(__file__).resolve().parent.parent / "params" / "checklists"
SOURCES = sorted((CHECKLISTS / "sources").glob("*.txt"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_every_checklist_item_is_mapped(source):
    profile_path = CHECKLISTS / f"{source.stem}.yaml"
    assert profile_path.is_file(), f"no profile for {source.name}"
    profile = load_profile(profile_path)
    assert (profile_path.parent / profile.source).resolve() == source.resolve()
    missing = unmapped(profile, profile_path)
    assert not missing, [f"line {m.line}: {m.text[:80]}" for m in missing]
    assert len(profile.items) >= len(source_items(source.read_text()))
    uncovered = [i.id for i in profile.items if i.coverage is Coverage.NOT_COVERED]
    for item in profile.items:
        if item.coverage is Coverage.NOT_COVERED:
            assert len(item.note) >= 20, f"{item.id}: say why it cannot be audited"
    assert len(uncovered) <= len(profile.items) // 5, "most items must be audited, not just listed"
    # every command and attestation the profile declares shows its result on some row
    assert unattached(profile) == []


#: requirements that are not list items or table rows, per source (prose sentences, stand-alone code lines)
OTHER_KINDS = {
    "dstream": {"code": 11, "prose": 1},  # preflight, template, external scan, 7 runtime commands, wallet matrix
    "liveshop": {"code": 5, "prose": 1},  # the per-endpoint rate-limit lines, "Use API Gateway"
    "ocmt": {"code": 6, "prose": 1},  # the quick-reference commands, "Must match AUTH_TOKEN"
    "diagnostics-api": {},
}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_prose_and_code_requirements_are_rows_of_their_own(source):
    """The item kinds beyond lists and tables are found, and each is a row with its own wording."""
    items = source_items(source.read_text())
    kinds = {k: sum(1 for i in items if i.kind == k) for k in ("code", "prose")}
    assert {k: n for k, n in kinds.items() if n} == OTHER_KINDS[source.stem]
    profile = load_profile(CHECKLISTS / f"{source.stem}.yaml")
    by_text = {" ".join(i.text.replace("`", "").replace("**", "").split()).lower(): i for i in profile.items}
    for item in items:
        if item.kind in ("code", "prose"):
            row = by_text[" ".join(item.text.replace("`", "").replace("**", "").split()).lower()]
            assert row.coverage is not Coverage.NOT_COVERED, row.id


def test_dstream_commands_each_decide_their_own_row():
    profile = load_profile(CHECKLISTS / "dstream.yaml")
    commands = [c["name"] for c in profile.params["commands"]["commands"]]
    rows = {i.command for i in profile.items if i.command}
    assert set(commands) <= rows, set(commands) - rows
    # the runtime section is not only the two notes: every command line is a row
    runtime = [i for i in profile.items if i.section.startswith("3)")]
    assert len(runtime) >= 9 and all(i.command for i in runtime)


def test_multi_target_checks_name_their_targets():
    """Rows of checks with one finding per service/route/hint name the targets that decide them."""
    wanted = {
        "liveshop": {
            "thirdparty.postgres": "service:postgres",
            "thirdparty.minio": "service:minio",
            "browser.sri": "route:/",
            "ratelimit.login": "route:POST /auth/login",
        },
        "ocmt": {"database.private_network": "service:postgres", "ratelimit.vault_unlock": "route:POST */vault/unlock"},
        "dstream": {"surface.wss_relay_hint": "hint:wss-relay", "surface.turn_hint": "hint:turn-ice"},
    }
    for system, rows in wanted.items():
        profile = load_profile(CHECKLISTS / f"{system}.yaml")
        items = {i.id: i for i in profile.items}
        for ident, selector in rows.items():
            assert any(selector in ref.targets for ref in items[ident].checks), (system, ident)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_profile_params_validate_and_references_exist(source, tmp_path, capsys):
    profile_path = CHECKLISTS / f"{source.stem}.yaml"
    env_file = tmp_path / "env.yaml"
    env_file.write_text(
        textwrap.dedent(f"""\
        environment: {source.stem}-check
        checklist: {profile_path}
        """)
    )
    env = load_environment(env_file, environ={})
    profile = env.profile
    commands = {c.name for c in getattr(getattr(env, "commands", None), "commands", [])}
    attestations = {a.id for a in env.attestations}
    for item in profile.items:
        if item.command is not None:
            assert item.command in commands, f"{item.id}: command {item.command} is not in the profile's params"
        if item.attestation is not None:
            assert item.attestation in attestations, f"{item.id}: attestation {item.attestation} is not declared"
    code = cli.main(["coverage", str(profile_path)])
    assert code in (0, 1)
    assert profile.title in capsys.readouterr().out
