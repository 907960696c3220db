"""Checklist profiles: a team's own checklist as data, every item mapped to how it is audited.

A profile (``params/checklists/<system>.yaml``) keeps each requirement in the checklist's own
wording and section and maps it to exactly one of: automated check ids, a command probe (a
``commands`` entry by name), or an attestation (an ``attestations`` entry by id) — or says,
in ``note``, why it is not covered. Its ``params`` section contributes the rules, commands and
attestations an environment inherits when it sets ``checklist:``.

``source_items`` enumerates the requirements of a checklist text (each list item and each
table row outside code blocks), so a test can prove no item was silently left out.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harden_lib.errors import ParamsError
from harden_lib.findings import STATUS_ORDER, Finding, Status

if TYPE_CHECKING:
    import pandas as pd

_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?(?P<text>\S.*)$")
_TABLE_SEPARATOR = re.compile(r"^\|[\s\-:|]+\|?$")
_HEADING = re.compile(r"^(#{1,6})\s+(?P<title>.+?)\s*$")


class Coverage(StrEnum):
    AUTOMATED = "automated check"
    COMMAND = "command"
    ATTESTATION = "attestation"
    NOT_COVERED = "not covered"


@dataclass(frozen=True)
class SourceItem:
    """One requirement as it stands in the checklist text."""

    line: int
    section: str
    text: str


def normalise(text: str) -> str:
    """Comparable wording: markdown emphasis, checkboxes and spacing do not matter."""
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", text.strip())
    text = re.sub(r"^\[[ xX]\]\s+", "", text)
    text = text.replace("**", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip().lower()


def source_items(text: str) -> list[SourceItem]:
    """Every list item and table body row outside fenced code, with its (sub)section heading."""
    items: list[SourceItem] = []
    lines = text.splitlines()
    fenced = False
    headings: list[str] = []
    for index, raw in enumerate(lines):
        stripped = raw.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            continue
        if fenced or not stripped:
            continue
        heading = _HEADING.match(stripped)
        if heading:
            level = len(heading.group(1))
            headings = [*headings[: level - 1], heading.group("title")]
            continue
        section = " / ".join(h for h in headings[1:] if h) or (headings[0] if headings else "")
        if stripped.startswith("|"):
            if _TABLE_SEPARATOR.match(stripped):
                continue
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if _TABLE_SEPARATOR.match(following):
                continue  # the header row of a table
            items.append(SourceItem(index + 1, section, stripped))
            continue
        bullet = _BULLET.match(raw)
        if bullet:
            items.append(SourceItem(index + 1, section, bullet.group("text").strip()))
    return items


class ChecklistItem(BaseModel):
    """One requirement and how it is audited."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    section: str
    text: str = Field(min_length=2, description="the checklist's own wording")
    checks: list[str] = Field(default_factory=list, description="automated check ids (patterns allowed)")
    command: str | None = Field(None, description="name of a `commands` entry")
    attestation: str | None = Field(None, description="id of an `attestations` entry")
    note: str = Field("", description="how it is covered, or why it cannot be")

    @model_validator(mode="after")
    def _one_way(self) -> ChecklistItem:
        ways = sum([bool(self.checks), self.command is not None, self.attestation is not None])
        if ways > 1:
            raise ValueError("map an item to exactly one of checks, command or attestation")
        if ways == 0 and not self.note.strip():
            raise ValueError("an item that is not covered needs a note saying why")
        return self

    @property
    def coverage(self) -> Coverage:
        if self.checks:
            return Coverage.AUTOMATED
        if self.command is not None:
            return Coverage.COMMAND
        if self.attestation is not None:
            return Coverage.ATTESTATION
        return Coverage.NOT_COVERED

    @property
    def reference(self) -> str:
        if self.checks:
            return ", ".join(self.checks)
        if self.command is not None:
            return f"commands.run [{self.command}]"
        if self.attestation is not None:
            return f"operations.{self.attestation}"
        return ""

    def findings(self, findings: list[Finding]) -> list[Finding]:
        """The findings that speak for this item."""
        if self.checks:
            return [f for f in findings if any(fnmatch.fnmatchcase(f.check_id, p) for p in self.checks)]
        if self.command is not None:
            return [f for f in findings if f.check_id == "commands.run" and f.target == self.command]
        if self.attestation is not None:
            return [f for f in findings if f.check_id == f"operations.{self.attestation}"]
        return []


class ChecklistProfile(BaseModel):
    """``params/checklists/<system>.yaml``."""

    model_config = ConfigDict(extra="forbid")

    system: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    title: str
    source: str = Field(description="the checklist text, relative to the profile")
    items: list[ChecklistItem]
    params: dict[str, Any] = Field(default_factory=dict, description="params an environment inherits")

    @model_validator(mode="after")
    def _unique_ids(self) -> ChecklistProfile:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"item id '{item.id}' is used twice")
            seen.add(item.id)
        return self


def read_profile_document(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParamsError(path, "", f"cannot read checklist profile ({exc.strerror})") from None
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise ParamsError(path, where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(path, "", "a checklist profile is a mapping (system, title, source, items, params)")
    return data


def load_profile(path: str | Path) -> ChecklistProfile:
    """Load and validate a profile; errors name the file and the key path.

    Every ``checks:`` entry must resolve through the check catalog (a family member, such as a
    config rule id, only when the profile's own params define it): a typo would otherwise leave
    its row "not run" for ever.
    """
    path = Path(path).resolve()
    data = read_profile_document(path)
    try:
        profile = ChecklistProfile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ParamsError(path, where, first["msg"].removeprefix("Value error, ")) from None
    check_profile_ids(profile, path)
    return profile


def check_profile_ids(profile: ChecklistProfile, path: Path) -> None:
    """Raise a ``ParamsError`` naming the file, the item and the id for a check id that cannot match."""
    from harden_lib.catalog import defined_ids, resolves

    defined = defined_ids(profile.params)
    for index, item in enumerate(profile.items):
        for pattern in item.checks:
            if not resolves(pattern, defined):
                raise ParamsError(
                    path,
                    f"items[{index}].checks",
                    f"item '{item.id}': unknown check id '{pattern}' (not in the check catalog — see harden checks — "
                    "and not a rule or attestation id the profile's params define)",
                )


def coverage_frame(profile: ChecklistProfile) -> pd.DataFrame:
    """Item, section, how it is covered and by what: the `harden coverage` table."""
    import pandas as pd

    rows = [
        {
            "item": i.id,
            "section": i.section,
            "requirement": i.text,
            "covered by": i.coverage.value,
            "check": i.reference,
            "note": i.note,
        }
        for i in profile.items
    ]
    return pd.DataFrame(rows, columns=["item", "section", "requirement", "covered by", "check", "note"])


def item_status(item: ChecklistItem, findings: list[Finding]) -> str:
    """The worst status among the item's findings (report order); 'not covered' / 'not run' otherwise."""
    if item.coverage is Coverage.NOT_COVERED:
        return "not covered"
    mine = item.findings(findings)
    if not mine:
        return "not run"
    ranked = {s: i for i, s in enumerate(STATUS_ORDER)}
    return min((f.status for f in mine), key=lambda s: ranked[s]).value


def filled_checklist(profile: ChecklistProfile, findings: list[Finding]) -> pd.DataFrame:
    """The checklist in its own order with each item's outcome: the report reads like the filled-in list."""
    import pandas as pd

    rows = []
    for item in profile.items:
        mine = item.findings(findings)
        rows.append(
            {
                "section": item.section,
                "requirement": item.text,
                "status": item_status(item, findings),
                "covered by": item.coverage.value,
                "evidence": "; ".join(f"{f.check_id} {f.status}" for f in mine[:4]),
            }
        )
    return pd.DataFrame(rows, columns=["section", "requirement", "status", "covered by", "evidence"])


def coverage_counts(profile: ChecklistProfile) -> dict[str, int]:
    counts = {c.value: 0 for c in Coverage}
    for item in profile.items:
        counts[item.coverage.value] += 1
    return counts


def unmapped(profile: ChecklistProfile, profile_path: Path) -> list[SourceItem]:
    """Requirements of the source checklist that no profile item carries (by wording)."""
    source = (profile_path.parent / profile.source).resolve()
    wording = {normalise(i.text) for i in profile.items}
    return [s for s in source_items(source.read_text(encoding="utf-8")) if normalise(s.text) not in wording]


def status_is_known(value: str) -> bool:
    return value in {s.value for s in Status} or value in {"not run", "not covered"}
