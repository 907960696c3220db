"""The check catalog: every check id harden can emit, declared once, as data.

Each area keeps its entries in ``harden_lib/catalog/<area>.yaml`` (Prowler keeps metadata next
to every check; InSpec controls carry impact, title, description and refs): title, default
severity, why it matters (``risk``), how to fix it (``remediation``), what passes
(``expected``), references (title + URL: Mozilla, OWASP ASVS / cheat sheets, CIS, RFCs) and
tags (``web``, ``tls``, ``owasp-asvs-v4.0.3:14.4.3`` …). Findings are built from the entry with
``finding()`` — the one builder of every area — so a check reads alike on every target, a
report can explain any finding, and a checklist profile or waiver naming an unknown id is an
error instead of a silent never-match.

Some ids are defined by the environment's own params, not by harden: a config rule's id
(``config.relays.wss``), an attestation (``operations.backups.restore_tested``). The catalog
declares such a *family* once (``family: true``, ``id: config.*``) with the metadata every
member shares; the member's own title and references come from its params entry.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Severity, Status

if TYPE_CHECKING:
    import pandas as pd

CATALOG_DIR = Path(__file__).parent / "catalog"
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_][a-z0-9_\-]*)*(\.\*)?$")
#: Longest ``observed`` kept by the builder (hostile servers control some of it).
MAX_OBSERVED = 1500
#: When a dict (the test suite sets one), every id the builder emits, with its statuses: the
#: suite proves each catalog entry is emitted by some test.
EMITTED: dict[str, set[str]] | None = None


class UnknownCheckError(HardenError):
    """A check id that is not in the catalog: a programming error in an area, or a typo in params."""


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    url: str | None = Field(None, pattern=r"^https://")

    def text(self) -> str:
        """How the reference travels in a finding (JSON/CSV keep the URL)."""
        return f"{self.title} <{self.url}>" if self.url else self.title


class CheckSpec(BaseModel):
    """What a check id means, independent of any one target or outcome."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    area: str
    title: str = Field(min_length=3)
    severity: Severity
    risk: str = Field(min_length=10, description="why a failure matters, for a stakeholder")
    remediation: str = Field(min_length=10, description="how to fix it, concretely")
    expected: str = Field("", description="what passes")
    references: tuple[Reference, ...] = ()
    tags: tuple[str, ...] = ()
    #: other words for what the check verifies (header names, tool and setting names, synonyms): the
    #: checklist importer (``harden import-checklist``) matches a requirement's text against them
    aliases: tuple[str, ...] = ()
    #: the ids of this family are defined by the environment's params (config rules, attestations)
    family: bool = False
    #: where a family's members are defined, for the docs (e.g. ``config.rules[].id``)
    defined_by: str = ""

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("a check id is lower-case dotted words, e.g. tls.cert.expiry (a family ends in .*)")
        return value

    @model_validator(mode="after")
    def _family_shape(self) -> CheckSpec:
        if self.family != self.id.endswith(".*"):
            raise ValueError("a family's id ends in .* and only a family's id does")
        if not self.id.startswith(f"{self.area}."):
            raise ValueError(f"the id must start with its area '{self.area}.'")
        return self

    def matches(self, check_id: str) -> bool:
        return check_id == self.id or (
            self.family and check_id.startswith(self.id[:-1]) and len(check_id) > len(self.id) - 1
        )

    def reference_texts(self) -> tuple[str, ...]:
        return tuple(r.text() for r in self.references)


class Catalog:
    """Every ``CheckSpec``, by id; families are matched by prefix after exact ids."""

    def __init__(self, specs: Iterable[CheckSpec]) -> None:
        self.specs: dict[str, CheckSpec] = {}
        self.families: list[CheckSpec] = []
        for spec in specs:
            if spec.id in self.specs or any(f.id == spec.id for f in self.families):
                raise HardenError(f"check catalog: {spec.id} is declared twice")
            if spec.family:
                self.families.append(spec)
            else:
                self.specs[spec.id] = spec
        self.families.sort(key=lambda f: -len(f.id))  # the most specific family first

    def __contains__(self, check_id: object) -> bool:
        return isinstance(check_id, str) and self.get(check_id) is not None

    def __iter__(self):
        return iter([*self.specs.values(), *self.families])

    def __len__(self) -> int:
        return len(self.specs) + len(self.families)

    def get(self, check_id: str) -> CheckSpec | None:
        spec = self.specs.get(check_id)
        if spec is not None:
            return spec
        return next((f for f in self.families if f.matches(check_id)), None)

    def lookup(self, check_id: str) -> CheckSpec:
        spec = self.get(check_id)
        if spec is None:
            raise UnknownCheckError(f"check id '{check_id}' is not in the check catalog (harden checks lists them)")
        return spec

    def areas(self) -> list[str]:
        return sorted({s.area for s in self})

    def for_area(self, area: str) -> list[CheckSpec]:
        return [s for s in self if s.area == area]

    def matching(self, pattern: str) -> list[CheckSpec]:
        """Entries an id or a pattern (``headers.csp.*``, as waivers and profiles write them) names."""
        if pattern.endswith("*"):
            prefix = pattern[:-1]
            return [s for s in self if s.id.startswith(prefix) or (s.family and prefix.startswith(s.id[:-1]))]
        spec = self.get(pattern)
        return [spec] if spec else []


def load_area_file(path: Path) -> list[CheckSpec]:
    """One area's catalog file, validated; errors name the file, the entry and the key."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HardenError(f"{path}: unreadable check catalog ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("checks"), list):
        raise HardenError(f"{path}: expected a mapping with 'area' and a 'checks' list")
    area = document.get("area") or path.stem
    specs = []
    for index, entry in enumerate(document["checks"]):
        if not isinstance(entry, dict):
            raise HardenError(f"{path}: checks[{index}] must be a mapping")
        try:
            specs.append(CheckSpec.model_validate({"area": area, **entry}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise HardenError(f"{path}: checks[{index}] ({entry.get('id', '?')}).{where}: {first['msg']}") from None
    return specs


@functools.cache
def catalog() -> Catalog:
    """The catalog of every installed area (loaded once per process)."""
    specs: list[CheckSpec] = []
    for path in sorted(CATALOG_DIR.glob("*.yaml")):
        specs.extend(load_area_file(path))
    return Catalog(specs)


def lookup(check_id: str) -> CheckSpec:
    return catalog().lookup(check_id)


# --------------------------------------------------------------------------- the one builder

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")


def _escape_control(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def clean_observed(text: str, limit: int = MAX_OBSERVED) -> str:
    """What a finding may show: secrets and URL credentials removed, control characters escaped, capped.

    ``<`` and ``>`` stay as they are (every report escapes HTML itself), so a CSP or an arrow
    reads as written instead of ``\\x3c``.
    """
    from harden_lib.redact import scrub_output

    text = scrub_output(str(text)[: limit * 4])
    text = _CONTROL.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finding(
    check_id: str,
    status: Status,
    target: str,
    observed: str = "",
    *,
    expected: str | None = None,
    severity: Severity | None = None,
    severity_reason: str = "",
    title: str | None = None,
    remediation: str | None = None,
    references: Sequence[str] = (),
) -> Finding:
    """A finding of ``check_id`` built from its catalog entry.

    * ``severity`` overrides the catalog's default only with a ``severity_reason`` (e.g. "the
      advisory's own severity", "set by the rule in params"), which the finding keeps;
    * ``title`` is for family members (a config rule's own title) and dynamic wording;
    * ``remediation`` replaces the catalog's when the fix depends on what was seen;
    * ``target`` and ``observed`` are cleaned (``clean_observed``: known secrets and URL credentials
      removed, control characters escaped, capped); ``<``/``>`` stay, so a target compares equal to
      the name params gave it (reports escape HTML themselves);
    * a pass carries no remediation (nothing to fix).
    """
    from harden_lib.redact import redact_url

    spec = lookup(check_id)
    if EMITTED is not None:
        EMITTED.setdefault(check_id, set()).add(Status(status).value)
    if severity is not None and severity is not spec.severity and not severity_reason:
        raise ValueError(f"{check_id}: a severity other than the catalog's ({spec.severity}) needs a severity_reason")
    extra = tuple(r for r in references if r not in spec.reference_texts())
    return Finding(
        area=spec.area,
        check_id=check_id,
        title=title or spec.title,
        status=status,
        severity=severity or spec.severity,
        target=clean_observed(redact_url(str(target)), 300),
        observed=clean_observed(observed),
        expected=expected if expected is not None else spec.expected,
        remediation="" if status is Status.PASS else (remediation or spec.remediation),
        references=(*spec.reference_texts(), *extra),
        severity_reason=severity_reason if severity is not None and severity is not spec.severity else "",
    )


# --------------------------------------------------------------------------- listing


def catalog_frame(area: str | None = None) -> pd.DataFrame:
    """One row per catalog entry (optionally of one area), for notebooks and ``harden checks``."""
    import pandas as pd

    rows = [
        {
            "id": s.id,
            "area": s.area,
            "title": s.title,
            "severity": s.severity.value,
            "risk": s.risk,
            "remediation": s.remediation,
            "references": "; ".join(s.reference_texts()),
            "tags": ", ".join(s.tags),
        }
        for s in catalog()
        if area is None or s.area == area
    ]
    from harden_lib.findings import ordered_categories  # issue 14: severity in the model's order

    columns = ["id", "area", "title", "severity", "risk", "remediation", "references", "tags"]
    return ordered_categories(pd.DataFrame(rows, columns=columns))


def catalog_json(area: str | None = None) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in catalog() if area is None or s.area == area]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def catalog_markdown(titles: Mapping[str, str] | None = None, area: str | None = None) -> str:
    """``docs/checks.md``: every check, grouped by area (generated: edit the YAML, not this)."""
    titles = {**(titles or {}), "governance": "Governance (waivers, attestations, sign-offs)"}
    lines = [
        "# harden check catalog",
        "",
        "Generated from `harden_lib/catalog/*.yaml` by `harden checks --format markdown`; do not edit by hand",
        "(a test fails when this file is stale). Severity is the default; a finding may raise or lower it",
        "with a reason it keeps.",
        "",
    ]
    known = catalog().areas()
    order = [*(n for n in titles if n in known), *(n for n in known if n not in titles)]  # report order
    for name in order:
        if area is not None and name != area:
            continue
        specs = catalog().for_area(name)
        lines += [f"## {titles.get(name, name)} (`{name}`, {len(specs)} checks)", ""]
        for s in specs:
            lines.append(f"### `{s.id}` — {_md(s.title)}")
            lines.append("")
            lines.append(f"- **Severity:** {s.severity.value}")
            if s.family:
                lines.append(f"- **Defined by:** `{s.defined_by}` (one check per entry; its own title)")
            lines.append(f"- **Why it matters:** {_md(s.risk)}")
            if s.expected:
                lines.append(f"- **Passes when:** {_md(s.expected)}")
            lines.append(f"- **How to fix:** {_md(s.remediation)}")
            if s.references:
                refs = ", ".join(f"[{_md(r.title)}]({r.url})" if r.url else _md(r.title) for r in s.references)
                lines.append(f"- **References:** {refs}")
            if s.tags:
                lines.append(f"- **Tags:** {', '.join(f'`{t}`' for t in s.tags)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- ids named in params


def defined_ids(params: Mapping[str, Any]) -> set[str]:
    """Check ids that an environment's (or a profile's) own params define: family members.

    A config rule's ``id`` (default ``config.<kind>``, also inside ``conditional`` rules) and
    an attestation's ``operations.<id>`` exist only because params declare them, so a profile
    item or a waiver may name them; anything else must be in the catalog itself.
    """
    ids: set[str] = set()

    def rules(items: Any) -> None:
        for rule in items if isinstance(items, list) else []:
            if not isinstance(rule, Mapping):
                continue
            kind = rule.get("kind")
            if isinstance(rule.get("id"), str):
                ids.add(rule["id"])
            elif isinstance(kind, str):
                ids.add(f"config.{kind}")
            for nested in ("then", "rules", "rule"):
                inner = rule.get(nested)
                rules(inner if isinstance(inner, list) else [inner])

    config = params.get("config") if isinstance(params.get("config"), Mapping) else {}
    rules(config.get("rules"))
    for attestation in params.get("attestations") or []:
        if isinstance(attestation, Mapping) and isinstance(attestation.get("id"), str):
            ids.add(f"operations.{attestation['id']}")
    return ids


def resolves(pattern: str, defined: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether an id or a pattern named in params can ever match a finding.

    Exact catalog ids resolve; a family member resolves only when the params define it (so a
    typo in a rule id is caught); a pattern (``headers.csp.*``, ``*``-globs) must match at least
    one catalog id or defined id.
    """
    import fnmatch

    if any(c in pattern for c in "*?["):
        known = [s.id for s in catalog() if not s.family] + sorted(defined)
        return any(fnmatch.fnmatchcase(i, pattern) for i in known) or bool(catalog().matching(pattern))
    return bool(pattern in catalog().specs or pattern in defined)
