"""The shipped profiles of the four real checklists: nothing may silently be missing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harden_lib import cli
from harden_lib.checklist import Coverage, load_profile, source_items, unmapped
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
