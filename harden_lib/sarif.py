"""SARIF 2.1.0 (``findings.sarif``): harden's findings in the format code-scanning views read.

One SARIF run per environment run; one rule per check id (title, remediation as help, the
first reference as ``helpUri``, a ``security-severity`` from the severity), one result per
finding that needs attention (``fail``, ``error``, ``warn``; a ``waived`` fail is a result with
an external suppression carrying the waiver). Passing, skipped and manual findings are left
out: a code-scanning alert is something to act on.

Locations: config and secret findings name a file (``.env.production:12``,
``app/settings.py:7``) or a key in an env file (``.env.production:SESSION_SECRET``). The file
is looked up under the folders the environment's params point at (the params file's folder,
the env file's, the scanned repository's …), a key is turned into its line by reading the env
file's key names (never its values), and the URI is written relative to ``root`` (the working
directory: in CI, the checkout) under ``%SRCROOT%``. Findings about URLs and hosts are placed
on the environment's params file, which is what configures them.

Every text is scrubbed like every other export (``exports.scrub_findings``), and each result
carries the finding's stable id as a partial fingerprint, so a code-scanning alert follows the
finding from run to run. The output is validated in the tests against the official SARIF
2.1.0 JSON schema vendored in ``harden_lib/schemas/sarif-schema-2.1.0.json``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harden_lib.findings import Finding, Status, atomic_write_text

SARIF_SCHEMA = Path(__file__).resolve().parent / "schemas" / "sarif-schema-2.1.0.json"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/harden-audit/harden"

_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: GitHub code scanning reads ``security-severity`` (0-10) to rank security alerts.
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
_REPORTED = (Status.FAIL, Status.ERROR, Status.WARN, Status.WAIVED)
_FILE_TARGET = re.compile(r"^(?P<path>[^\s:,][^:,]*?)(?::(?P<rest>[A-Za-z0-9_.\-]+))?$")
_URL_REF = re.compile(r"https?://[^\s<>()\"']+")


def search_folders(env: Any) -> list[Path]:
    """Folders a finding's relative file target may be under: around every path in the params."""
    folders: list[Path] = []

    def add(path: Path) -> None:
        for candidate in (path, path.parent):
            # never the filesystem root: a relative target must not be looked up across the machine
            if candidate.is_dir() and candidate.parent != candidate and candidate not in folders:
                folders.append(candidate)

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 6:
            return
        if isinstance(node, Path):
            add(node)
        elif isinstance(node, str) and os.sep in node and Path(node).is_absolute():
            add(Path(node))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value, depth + 1)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value, depth + 1)
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name, None), depth + 1)

    source = getattr(env, "source", None)
    if source:
        add(Path(source))
    walk(env)
    return folders


def _env_key_line(path: Path, key: str) -> int | None:
    """The line where an env-style file assigns ``key`` (reads key names only)."""
    pattern = re.compile(rf"^\s*(?:export\s+)?{re.escape(key)}\s*[=:]")
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if pattern.match(line):
                    return number
    except OSError:
        return None
    return None


@lru_cache(maxsize=4096)
def _exists(path: str) -> bool:
    return Path(path).is_file()


def locate(target: str, folders: Sequence[Path]) -> tuple[Path, int | None] | None:
    """(file, line) of a file-shaped target, or None when it names no file found under ``folders``."""
    text = target.strip()
    match = _FILE_TARGET.match(text)
    if not match or "://" in text:
        return None
    relative, rest = match.group("path").strip(), match.group("rest")
    if relative.lower().startswith(("dockerfile ", "service ", "compose ")):
        relative = relative.split(" ", 1)[1].strip()
    candidates = [Path(relative)] if Path(relative).is_absolute() else [folder / relative for folder in folders]
    for candidate in candidates:
        if _exists(str(candidate)):
            line = None
            if rest and rest.isdigit():
                line = int(rest)
            elif rest:
                line = _env_key_line(candidate, rest)
            return candidate.resolve(), line
    return None


def _artifact(path: Path, root: Path) -> dict[str, Any]:
    try:
        return {"uri": path.relative_to(root).as_posix(), "uriBaseId": "%SRCROOT%"}
    except ValueError:
        return {"uri": path.as_uri()}


def _level(finding: Finding, blocking: bool) -> str:
    if blocking:
        return "error"
    level = _LEVEL.get(finding.severity.value, "warning")
    if finding.status is Status.WARN and level == "error":
        return "warning"
    return level


def _help_uri(references: Iterable[str]) -> str | None:
    for reference in references:
        match = _URL_REF.search(reference)
        if match:
            return match.group(0).rstrip(".,;>")
    return None


def sarif_document(
    environment: str,
    run_id: str,
    findings: Sequence[Finding],
    *,
    blocking: Sequence[Finding] | None = None,
    env: Any = None,
    root: Path | str | None = None,
    verdict: str | None = None,
    context: object = None,
    partial: bool | None = None,
    areas: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The SARIF log as a dict (``write_sarif`` writes it). ``partial``/``areas``: a run of some areas only."""
    from harden_lib import __version__
    from harden_lib.exports import export_view

    root = Path(root or os.getcwd()).resolve()
    folders = search_folders(env) if env is not None else []
    folders.append(root)
    params_file = Path(env.source).resolve() if env is not None and getattr(env, "source", None) else None
    cleaned, ids, flags = export_view(findings, blocking, context)

    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for finding, finding_id, flag in zip(cleaned, ids, flags, strict=True):
        if finding.status not in _REPORTED:
            continue
        if finding.check_id not in rules:
            rule: dict[str, Any] = {
                "id": finding.check_id,
                "name": re.sub(r"[^A-Za-z0-9]+", "_", finding.check_id).strip("_") or "check",
                "shortDescription": {"text": finding.title or finding.check_id},
                "help": {"text": finding.remediation or finding.expected or finding.title or finding.check_id},
                "defaultConfiguration": {"level": _LEVEL.get(finding.severity.value, "warning")},
                "properties": {
                    "tags": ["security", "harden", finding.area],
                    "security-severity": _SECURITY_SEVERITY.get(finding.severity.value, "5.0"),
                    "precision": "high",
                },
            }
            uri = _help_uri(finding.references)
            if uri:
                rule["helpUri"] = uri
            rules[finding.check_id] = rule
        message = finding.title or finding.check_id
        if finding.observed:
            message += f" — observed: {finding.observed}"
        if finding.expected:
            message += f"; expected: {finding.expected}"
        result: dict[str, Any] = {
            "ruleId": finding.check_id,
            "ruleIndex": list(rules).index(finding.check_id),
            "kind": "fail",
            "level": _level(finding, flag),
            "message": {"text": message[:4000]},
            "partialFingerprints": {"hardenFindingId/v1": finding_id},
            "properties": {
                "harden-id": finding_id,
                "status": finding.status.value,
                "severity": finding.severity.value,
                "blocking": flag,
                "target": finding.target,
                "area": finding.area,
            },
        }
        located = locate(finding.target, folders) if finding.target else None
        if located is not None:
            path, line = located
            physical: dict[str, Any] = {"artifactLocation": _artifact(path, root)}
            if line:
                physical["region"] = {"startLine": line}
            result["locations"] = [{"physicalLocation": physical}]
        elif params_file is not None:
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(params_file, root),
                        "region": {"startLine": 1},
                    },
                    "message": {"text": f"configured in the params of {environment}: {finding.target}"[:1000]},
                }
            ]
        if finding.status is Status.WAIVED:
            result["suppressions"] = [{"kind": "external", "justification": finding.waiver or "waived in params"}]
        results.append(result)

    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "harden",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": list(rules.values()),
            }
        },
        "automationDetails": {"id": f"harden/{environment}/{run_id}"},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
        "results": results,
        "properties": {"environment": environment, "run_id": run_id, "verdict": verdict or ""},
    }
    if partial is not None:
        run["properties"]["partial"] = partial
    if areas is not None:
        run["properties"]["areas"] = list(areas)
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def write_sarif(path: Path, environment: str, run_id: str, findings: Sequence[Finding], **kwargs: Any) -> None:
    """``findings.sarif`` next to findings.json (scrubbed like every export)."""
    from harden_lib.redact import scrub_tree

    document = scrub_tree(sarif_document(environment, run_id, findings, **kwargs))
    atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def validate_sarif(document: dict[str, Any]) -> list[str]:
    """Problems of a SARIF document against the official 2.1.0 schema (empty when valid)."""
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
