"""Checklist profiles: a team's own checklist as data, every item mapped to how it is audited.

A profile (``params/checklists/<system>.yaml``) keeps each requirement in the checklist's own
wording and section and maps it to exactly one of: automated check ids, a command probe (a
``commands`` entry by name), or an attestation (an ``attestations`` entry by id) — or says,
in ``note``, why it is not covered. Its ``params`` section contributes the rules, commands and
attestations an environment inherits when it sets ``checklist:``.

**Target selectors.** Most checks have several targets (one finding per compose service, URL,
env key …). A row that names only the check would take the worst status of every target — a
"PostgreSQL is not published" row failing because MinIO publishes its console. So an item may
say which targets decide it::

    checks: [containers.ports.internal]           # every target of the check
    targets: ["service:postgres"]                  # ... restricted to these (all the item's checks)
    checks:                                        # or per check
      - {id: containers.ports.internal, target: "service:postgres"}
      - {id: ratelimit.enforced, targets: ["route:POST /auth/login"]}

A selector is ``[kind:]pattern``; the pattern is a shell glob (``*``, ``?``, ``[..]``) unless
the kind is ``re``. Kinds, and what of ``Finding.target`` they compare:

==============  =====================================================================
``service:``    the compose service of ``service NAME`` targets (containers checks)
``route:``      the path (and query) of the URL in the target — scheme, host and port
                dropped, a trailing ``/`` dropped except for ``/`` itself; a leading
                HTTP method in the pattern (``POST /auth/login``) must match too.
                ``url:`` is the same kind.
``key:``        the env key: ``KEY`` or ``file:KEY`` targets (config, secrets)
``datastore:``  ``NAME`` or ``KIND NAME`` of ``KIND NAME @ where`` targets (datastores)
``command:``    the command name (``commands.run``)
``hint:``       the name of ``hint NAME`` targets (surface required hints)
``re:``         a regular expression searched in the whole normalised target
(none)          a glob against the whole normalised target
==============  =====================================================================

Normalisation, on both sides: case folded, runs of whitespace made one space, every URL in a
target reduced to its path as for ``route:``. The row takes the worst status of the matching
findings only; a selector that matches no finding makes the row ``not run`` and the evidence
says which targets were seen — never a pass. So does a check the row names whose whole area is
absent from the run (a strong webhook secret does not pass a "signatures are verified" row when
the signature probe never ran); a failure or warning still shows as such. A check of an area that
did run may be silent (reported only on error, or not applicable as configured) without a gap.

``source_items`` enumerates the requirements of a checklist text: each list item and table row,
each prose sentence that states a requirement (must / should / never / required … or an
imperative such as "Use …") under a checklist section, and each line of a fenced code block
that stands on its own under a section (commands to run, limits to set) — a code block nested
in a list item illustrates that item and is not a requirement of its own. A test proves that
no item of a shipped checklist is silently left out.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harden_lib.errors import ParamsError
from harden_lib.findings import STATUS_ORDER, Finding, Status

if TYPE_CHECKING:
    import pandas as pd

_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|[a-z][.)])\s+(?:\[[ xX]\]\s+)?(?P<text>\S.*)$")
_TABLE_SEPARATOR = re.compile(r"^\|[\s\-:|]+\|?$")
_HEADING = re.compile(r"^(#{1,6})\s+(?P<title>.+?)\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)")
#: words that make a prose sentence a requirement
_MODAL = re.compile(
    r"\b(?:must|shall|should|never|required|requires|require|always|mandatory|enforced|"
    r"do not|don't|may not|not allowed|forbidden)\b",
    re.IGNORECASE,
)
#: a sentence that starts with one of these (after an optional "**Label**:") is an instruction
_IMPERATIVE = frozenset(
    {
        "use",
        "enable",
        "disable",
        "set",
        "run",
        "configure",
        "keep",
        "rotate",
        "store",
        "restrict",
        "verify",
        "ensure",
        "add",
        "apply",
        "avoid",
        "test",
        "monitor",
        "deploy",
        "review",
        "create",
        "generate",
        "document",
        "check",
        "limit",
        "encrypt",
        "remove",
        "update",
        "upgrade",
        "install",
        "block",
        "allow",
        "protect",
        "validate",
        "alert",
        "schedule",
        "publish",
        "pin",
        "scan",
        "mask",
        "back",
        "harden",
        "tighten",
    }
)
_LABEL = re.compile(r"^(?:\*\*[^*]{1,60}\*\*|__[^_]{1,60}__|[A-Z][\w ()/-]{0,40}):\s*")
_SELF_REFERENCE = re.compile(r"\bthis (?:checklist|guide|document|page|file|list)\b", re.IGNORECASE)
_CODE_COMMENT = re.compile(r"^(?:#|//|--|;|/\*|\*|<!--|rem\s)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[`*_\"'(A-Z])")


class Coverage(StrEnum):
    AUTOMATED = "automated check"
    COMMAND = "command"
    ATTESTATION = "attestation"
    NOT_COVERED = "not covered"


@dataclass(frozen=True)
class SourceItem:
    """One requirement as it stands in the checklist text (``kind``: list, table, prose or code)."""

    line: int
    section: str
    text: str
    kind: str = "list"


def normalise(text: str) -> str:
    """Comparable wording: markdown emphasis, checkboxes and spacing do not matter."""
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", text.strip())
    text = re.sub(r"^\[[ xX]\]\s+", "", text)
    text = text.replace("**", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip().lower()


def _is_requirement_sentence(sentence: str) -> bool:
    """A prose sentence that asks for something (not a lead-in ending in ':', not about the document)."""
    sentence = sentence.strip()
    if len(sentence) < 8 or sentence.endswith(":") or _SELF_REFERENCE.search(sentence):
        return False
    if _MODAL.search(sentence):
        return True
    body = _LABEL.sub("", sentence, count=1).lstrip("*_` ")
    first = re.match(r"[A-Za-z]+", body)
    return bool(first) and first.group(0).lower() in _IMPERATIVE and len(body.split()) >= 2


def _code_requirement(line: str) -> str | None:
    """A line of a stand-alone code block as a requirement: commands and settings, not comments/braces."""
    text = line.strip()
    if text.startswith("$ "):
        text = text[2:].strip()
    if not text or _CODE_COMMENT.match(text) or not re.search(r"[A-Za-z0-9]{2}", text):
        return None
    return text


def source_items(text: str) -> list[SourceItem]:
    """Every requirement of a checklist text with its (sub)section heading.

    List items and table body rows anywhere outside code; prose sentences that state a
    requirement and lines of code blocks that are not nested in a list item, both only under a
    section heading (level 2 or deeper): the text under the title is the document's preface.
    """
    items: list[SourceItem] = []
    lines = text.splitlines()
    fence: str | None = None  # the open fence's marker
    fence_items = False  # the open block's lines are requirements
    pending = ""  # a code line continued with a trailing backslash
    pending_line = 0
    headings: list[str] = []
    # a text without any section heading (plain text, or only a title) is one section: its prose counts too
    sectioned = any((m := _HEADING.match(line.strip())) and len(m.group(1)) >= 2 for line in lines) or any(
        _SETEXT.match(b) and b.strip().startswith("-") and a.strip() for a, b in itertools.pairwise(lines)
    )
    for index, raw in enumerate(lines):
        stripped = raw.strip()
        section = " / ".join(h for h in headings[1:] if h) or (headings[0] if headings else "")
        in_section = (len(headings) >= 2 and any(headings[1:])) or not sectioned
        opening = _FENCE.match(raw)
        if fence is not None:
            if opening and opening.group("fence")[0] == fence[0] and len(opening.group("fence")) >= len(fence):
                fence = None
                continue
            if fence_items:
                if pending:
                    stripped = f"{pending} {stripped}"
                if stripped.endswith("\\"):
                    pending, pending_line = stripped[:-1].rstrip(), pending_line or index + 1
                    continue
                code = _code_requirement(stripped)
                if code:
                    items.append(SourceItem(pending_line or index + 1, section, code, "code"))
                pending, pending_line = "", 0
            continue
        if opening:
            fence = opening.group("fence")
            fence_items = in_section and not opening.group("indent")
            continue
        if not stripped:
            continue
        heading = _HEADING.match(stripped)
        following = lines[index + 1] if index + 1 < len(lines) else ""
        underline = _SETEXT.match(following)
        if heading or (underline and not stripped.startswith("|")):
            level = len(heading.group(1)) if heading else (1 if underline.group(1)[0] == "=" else 2)
            title = heading.group("title") if heading else stripped
            headings = [*headings[: level - 1], *[""] * max(0, level - 1 - len(headings)), title]
            continue
        if index > 0 and _SETEXT.match(raw) and lines[index - 1].strip():
            continue  # the underline of a setext heading
        if stripped.startswith("|"):
            if _TABLE_SEPARATOR.match(stripped):
                continue
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if _TABLE_SEPARATOR.match(following):
                continue  # the header row of a table
            items.append(SourceItem(index + 1, section, stripped, "table"))
            continue
        bullet = _BULLET.match(raw)
        if bullet:
            items.append(SourceItem(index + 1, section, bullet.group("text").strip(), "list"))
            continue
        if in_section and not re.fullmatch(r"[-*_=\s]{3,}", stripped):
            for sentence in _SENTENCE_END.split(stripped):
                if _is_requirement_sentence(sentence):
                    items.append(SourceItem(index + 1, section, sentence.strip(), "prose"))
    return items


# --------------------------------------------------------------------------- target selectors

SELECTOR_KINDS = ("service", "route", "url", "key", "datastore", "command", "hint", "re")
_URL_IN_TEXT = re.compile(r"\b(?:https?|wss?)://[^\s/?#]+(?P<path>[^\s#]*)", re.IGNORECASE)
_METHOD = re.compile(r"^(get|head|post|put|patch|delete|options)\s+(?=[/*?\[])")


def _path(path: str) -> str:
    path = path or "/"
    if not path.startswith("/"):
        path = "/" + path
    base, sep, query = path.partition("?")
    if len(base) > 1:
        base = base.rstrip("/") or "/"
    return base + (sep + query if query else "")


def normalise_target(text: str) -> str:
    """Case folded, one space between words, each URL reduced to its path (see the module docs)."""
    text = " ".join(str(text).split()).lower()
    return _URL_IN_TEXT.sub(lambda m: _path(m.group("path")), text)


@dataclass(frozen=True)
class Selector:
    """``[kind:]pattern`` naming the targets whose findings decide a row."""

    kind: str  # "" for a glob on the whole target
    pattern: str
    text: str  # as written

    @classmethod
    def parse(cls, text: str) -> Selector:
        text = str(text).strip()
        if not text:
            raise ValueError("an empty target selector")
        kind, sep, rest = text.partition(":")
        kind = kind.strip().lower()
        if sep and kind in SELECTOR_KINDS:
            if kind == "url":
                kind = "route"
            pattern = rest.strip()
            if not pattern:
                raise ValueError(f"target selector '{text}' has no pattern after '{kind}:'")
            if kind == "re":
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"target selector '{text}': invalid regular expression ({exc})") from None
                return cls(kind, pattern, text)
            return cls(kind, normalise_target(pattern), text)
        return cls("", normalise_target(text), text)

    def _names(self, target: str) -> list[str]:
        """What this kind compares in a normalised target (empty when the target is not of the kind)."""
        if self.kind == "service":
            m = re.match(r"^service (\S+)", target)
            return [m.group(1)] if m else []
        if self.kind == "route":
            m = re.match(r"^(?:(get|head|post|put|patch|delete|options) )?(/\S*)", target)
            if not m:
                return []
            return [f"{m.group(1)} {m.group(2)}" if m.group(1) else m.group(2), m.group(2)]
        if self.kind == "key":
            m = re.search(r"(?:^|[:\s])([a-z_][a-z0-9_.\-]*)$", target)
            return [m.group(1)] if m else []
        if self.kind == "datastore":
            m = re.match(r"^(\S+) (\S+) @ ", target)
            return [m.group(2), f"{m.group(1)} {m.group(2)}"] if m else []
        if self.kind == "hint":
            m = re.match(r"^hint (\S+)", target)
            return [m.group(1)] if m else []
        return [target]  # command, plain glob

    def matches(self, target: str) -> bool:
        normalised = normalise_target(target)
        if self.kind == "re":
            return re.search(self.pattern, normalised, re.IGNORECASE) is not None
        names = self._names(normalised)
        if self.kind == "route" and not _METHOD.match(self.pattern):
            names = names[-1:]  # no method in the pattern: any method
        elif self.kind == "route":
            names = names[:1]
        return any(fnmatch.fnmatchcase(name, self.pattern) for name in names)


class CheckRef(BaseModel):
    """One check of an item, optionally restricted to some of its targets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="check id (a glob such as headers.csp.* is allowed)")
    targets: tuple[str, ...] = Field((), description="target selectors; empty: every target")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"id": value}
        if isinstance(value, dict) and "target" in value:
            value = dict(value)
            target = value.pop("target")
            if "targets" in value:
                raise ValueError("give either target or targets, not both")
            value["targets"] = [target] if isinstance(target, str) else target
        return value

    @field_validator("targets")
    @classmethod
    def _valid_selectors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            Selector.parse(text)
        return value

    def selectors(self) -> list[Selector]:
        return [Selector.parse(t) for t in self.targets]

    def label(self) -> str:
        return f"{self.id} [{', '.join(self.targets)}]" if self.targets else self.id

    def matches(self, finding: Finding) -> bool:
        if not fnmatch.fnmatchcase(finding.check_id, self.id):
            return False
        selectors = self.selectors()
        return not selectors or any(s.matches(finding.target) for s in selectors)


class ChecklistItem(BaseModel):
    """One requirement and how it is audited."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    section: str
    text: str = Field(min_length=2, description="the checklist's own wording")
    checks: list[CheckRef] = Field(
        default_factory=list, description="automated check ids (patterns allowed), each optionally with targets"
    )
    targets: list[str] = Field(
        default_factory=list, description="target selectors for every check of the item that names none"
    )
    command: str | None = Field(None, description="name of a `commands` entry")
    attestation: str | None = Field(None, description="id of an `attestations` entry")
    note: str = Field("", description="how it is covered, or why it cannot be")

    @field_validator("targets")
    @classmethod
    def _valid_selectors(cls, value: list[str]) -> list[str]:
        for text in value:
            Selector.parse(text)
        return value

    @model_validator(mode="after")
    def _one_way(self) -> ChecklistItem:
        ways = sum([bool(self.checks), self.command is not None, self.attestation is not None])
        if ways > 1:
            raise ValueError("map an item to exactly one of checks, command or attestation")
        if ways == 0 and not self.note.strip():
            raise ValueError("an item that is not covered needs a note saying why")
        if self.targets and not self.checks:
            raise ValueError("targets select among the findings of checks: give checks too")
        if self.targets:
            self.checks = [c if c.targets else CheckRef(id=c.id, targets=tuple(self.targets)) for c in self.checks]
            self.targets = []
        return self

    @property
    def check_ids(self) -> list[str]:
        return [c.id for c in self.checks]

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
            return ", ".join(c.label() for c in self.checks)
        if self.command is not None:
            return f"commands.run [{self.command}]"
        if self.attestation is not None:
            return f"operations.{self.attestation}"
        return ""

    def findings(self, findings: list[Finding]) -> list[Finding]:
        """The findings that speak for this item (its checks on its selected targets only)."""
        if self.checks:
            return [f for f in findings if any(c.matches(f) for c in self.checks)]
        if self.command is not None:
            return [f for f in findings if f.check_id == "commands.run" and f.target == self.command]
        if self.attestation is not None:
            return [f for f in findings if f.check_id == f"operations.{self.attestation}"]
        return []

    def unverified(self, findings: list[Finding]) -> list[str]:
        """What the item names that no finding speaks for: a check that did not run, a selector that
        matched none of its check's targets. Such a row is never a pass (see ``item_status``)."""
        parts = []
        for ref in self.checks:
            of_check = [f for f in findings if fnmatch.fnmatchcase(f.check_id, ref.id)]
            if not of_check:
                area = ref.id.split(".", 1)[0]
                if ref.targets or not any(f.check_id.startswith(f"{area}.") for f in findings):
                    # named targets never seen, or the check's whole area absent from the run; a check of an
                    # area that ran may legitimately be silent (only reported on error, or not applicable)
                    parts.append(f"{ref.id} did not run (no finding in this run)")
                continue
            missing = [s for s in ref.selectors() if not any(s.matches(f.target) for f in of_check)]
            if missing:
                seen = sorted({f.target for f in of_check})
                shown = ", ".join(s[:60] for s in seen[:6]) + (f" (+{len(seen) - 6} more)" if len(seen) > 6 else "")
                parts.append(f"no {ref.id} finding for {', '.join(s.text for s in missing)} (targets seen: {shown})")
        return parts

    def not_run_reason(self, findings: list[Finding]) -> str:
        """Why no finding speaks for (part of) the item: a check did not run, or a selector matched nothing."""
        if self.command is not None:
            return f"no result of command '{self.command}' in this run (is the commands area enabled?)"
        if self.attestation is not None:
            return f"no finding for attestation '{self.attestation}' in this run (is the operations area enabled?)"
        gaps = self.unverified(findings)
        if not gaps:  # every check's area ran, none of the checks reported anything
            gaps = [
                f"{', '.join(self.check_ids)} reported nothing although the area ran (not applicable as configured)"
            ]
        return "; ".join(gaps)


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
        for ref in item.checks:
            if not resolves(ref.id, defined):
                raise ParamsError(
                    path,
                    f"items[{index}].checks",
                    f"item '{item.id}': unknown check id '{ref.id}' (not in the check catalog — see harden checks — "
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


#: statuses of a row that did not decide anything by a check: the verdict counts them
UNDECIDED = ("not run", "manual", "not covered")
#: evidence entries shown per row, and characters of each one's observed value
EVIDENCE_ENTRIES = 5
EVIDENCE_OBSERVED_CHARS = 90


def _rank(status: Status) -> int:
    return {s: i for i, s in enumerate(STATUS_ORDER)}[status]


def item_status(item: ChecklistItem, findings: list[Finding]) -> str:
    """The worst status among the item's findings (report order); 'not covered' / 'not run' otherwise."""
    if item.coverage is Coverage.NOT_COVERED:
        return "not covered"
    mine = item.findings(findings)
    if not mine:
        return "not run"
    worst = min((f.status for f in mine), key=_rank)
    if worst not in (Status.FAIL, Status.ERROR, Status.WARN) and item.unverified(findings):
        return "not run"  # part of what the row names was never checked: its passes do not make it a pass
    return worst.value


def evidence(item: ChecklistItem, findings: list[Finding]) -> str:
    """The worst results first, each with its target and observed value (capped), then a count of the rest.

    A row that is not run says why (the check did not run, or no target matched the selectors).
    """
    from harden_lib.catalog import clean_observed

    mine = sorted(item.findings(findings), key=lambda f: (_rank(f.status), f.check_id, f.target))
    if not mine:
        if item.coverage is Coverage.NOT_COVERED:
            return item.note
        return "not run: " + item.not_run_reason(findings)
    gaps = item.unverified(findings)
    shown = []
    for f in mine[:EVIDENCE_ENTRIES]:
        target = f" [{clean_observed(' '.join(f.target.split()), 60)}]" if f.target else ""
        observed = clean_observed(" ".join(f.observed.split()), EVIDENCE_OBSERVED_CHARS) if f.observed else ""
        shown.append(f"{f.status.value} {f.check_id}{target}" + (f": {observed}" if observed else ""))
    rest = mine[EVIDENCE_ENTRIES:]
    if rest:
        counts: dict[str, int] = {}
        for f in rest:
            counts[f.status.value] = counts.get(f.status.value, 0) + 1
        shown.append(f"+{len(rest)} more (" + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")")
    if gaps:  # after the failures and warnings, before the passes: a gap is not a pass
        worse = sum(1 for f in mine[:EVIDENCE_ENTRIES] if f.status in (Status.FAIL, Status.ERROR, Status.WARN))
        shown.insert(worse, "not run: " + "; ".join(gaps))
    return "; ".join(shown)


def filled_checklist(profile: ChecklistProfile, findings: list[Finding]) -> pd.DataFrame:
    """The checklist in its own order with each item's outcome: the report reads like the filled-in list."""
    import pandas as pd

    rows = []
    for item in profile.items:
        rows.append(
            {
                "section": item.section,
                "requirement": item.text,
                "status": item_status(item, findings),
                "covered by": item.coverage.value,
                "evidence": evidence(item, findings),
            }
        )
    return pd.DataFrame(rows, columns=["section", "requirement", "status", "covered by", "evidence"])


def row_counts(table: pd.DataFrame) -> dict[str, int]:
    """Rows per status of a filled-in checklist, in report order, the undecided kinds always present."""
    order = [s.value for s in STATUS_ORDER] + list(UNDECIDED)
    present = table["status"].value_counts().to_dict() if len(table) else {}
    counts = {s: int(present.get(s, 0)) for s in dict.fromkeys(order) if present.get(s, 0) or s in UNDECIDED}
    return counts


def headline(profile: ChecklistProfile, table: pd.DataFrame) -> str:
    """One sentence for the top of the filled-in checklist: every outcome counted, undecided rows named.

    A row that is not run, waits for a person (manual) or is not covered is not a pass: the
    sentence says how many there are instead of letting a green total suggest every item was verified.
    """
    counts = row_counts(table)
    parts = ", ".join(f"{n} {s}" for s, n in counts.items())
    undecided = sum(counts.get(s, 0) for s in UNDECIDED)
    sentence = f"{profile.title}: {len(table)} rows — {parts}."
    if undecided:
        sentence += f" {undecided} row(s) were not decided by a check (not run, manual or not covered)."
    else:
        sentence += " Every row was decided by a check or a current attestation."
    covered = ", ".join(f"{n} {kind}" for kind, n in coverage_counts(profile).items())
    return f"{sentence} Covered by: {covered}."


def run_note(profile: ChecklistProfile | None, findings: list[Finding]) -> str:
    """What the "checks that could not run" section says when no check errored.

    "Every check ran" is only true when no checklist row is ``not run`` either: a check id or
    target that produced no finding at all is a control nobody verified.
    """
    errored = sum(1 for f in findings if f.status is Status.ERROR)
    not_run = []
    if profile is not None:
        not_run = [i for i in profile.items if item_status(i, findings) == "not run"]
    if not errored and not not_run:
        return "Every check ran."
    parts = [f"{errored} check(s) could not run (listed above)"] if errored else ["No check reported an error"]
    if not_run:
        names = ", ".join(i.id for i in not_run[:8]) + (f" (+{len(not_run) - 8} more)" if len(not_run) > 8 else "")
        parts.append(f"{len(not_run)} checklist row(s) were not run: {names}")
    return "; ".join(parts) + "."


def gate_findings(
    profile: ChecklistProfile | None, findings: list[Finding], policy: Literal["block", "warn"] = "warn"
) -> list[Finding]:
    """``governance.checklist.undecided``: rows that are not run, manual or not covered, as one finding.

    With ``policy: block`` the finding is an error at critical severity, so those rows close the
    gate (nothing unverified ships); with ``warn`` (the default) it is a warning that stays visible.
    No finding when every row was decided.
    """
    from harden_lib.catalog import finding
    from harden_lib.findings import Severity

    if profile is None:
        return []
    statuses = {item.id: item_status(item, findings) for item in profile.items}
    undecided = {k: v for k, v in statuses.items() if v in UNDECIDED}
    if not undecided:
        return []
    counts = {s: sum(1 for v in undecided.values() if v == s) for s in UNDECIDED}
    listed = ", ".join(f"{k} ({v})" for k, v in list(undecided.items())[:12])
    more = f" (+{len(undecided) - 12} more)" if len(undecided) > 12 else ""
    observed = ", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" of {len(statuses)} rows: {listed}{more}"
    if policy == "block":
        return [
            finding(
                "governance.checklist.undecided",
                Status.ERROR,
                profile.system,
                observed,
                severity=Severity.CRITICAL,
                severity_reason="checklist not_run policy 'block': undecided rows close the gate",
            )
        ]
    return [finding("governance.checklist.undecided", Status.WARN, profile.system, observed)]


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


def unattached(profile: ChecklistProfile) -> list[str]:
    """Commands and attestations the profile's params declare that no item uses.

    They run (or are asked for) but no row shows their result: a section of the checklist looks
    skipped while its evidence exists, so ``harden coverage`` reports them.
    """
    params = profile.params or {}
    commands = ((params.get("commands") or {}).get("commands") or []) if isinstance(params, dict) else []
    attestations = params.get("attestations") or [] if isinstance(params, dict) else []
    used_commands = {i.command for i in profile.items if i.command is not None}
    used_attestations = {i.attestation for i in profile.items if i.attestation is not None}
    used_checks = [c.id for i in profile.items for c in i.checks]
    out = []
    for command in commands:
        name = command.get("name") if isinstance(command, dict) else None
        if isinstance(name, str) and name not in used_commands and "commands.run" not in used_checks:
            out.append(f"command '{name}'")
    for attestation in attestations:
        ident = attestation.get("id") if isinstance(attestation, dict) else None
        if not isinstance(ident, str) or ident in used_attestations:
            continue
        if any(fnmatch.fnmatchcase(f"operations.{ident}", pattern) for pattern in used_checks):
            continue
        out.append(f"attestation '{ident}'")
    return out


def status_is_known(value: str) -> bool:
    return value in {s.value for s in Status} or value in {"not run", "not covered"}
