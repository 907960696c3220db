"""Secrets hygiene: committed secrets, tracked env files, literals in container files,
secrets shared between environments, and the strength of each secret in the env file.

Committed secrets are found by detect-secrets over the files git tracks. detect-secrets does
not read ``.env`` files or compose/Dockerfile ``ENV`` lines well (DESIGN §10), so those are
covered by the kit's own env-file parser and ``secret_literals``; and it skips string items of
YAML lists (Yelp/detect-secrets#791: ``env: [- GITHUB_TOKEN=ghp_…]``, ``args: ["--token=…"]``), so
every other tracked text file is also read by the kit's line scanner (``secret_literals.scan_lines``:
secret-named assignments in the usual syntaxes, vendor token shapes). Values are never shown:
hits name file, line and kind; cross-environment comparison uses keyed fingerprints (HMAC
with a random key made for this run), never plain hashes.

One finding per secret. Several detectors often see the same secret (detect-secrets'
AWSKeyDetector and KeywordDetector on one line, the literal scanner on a Dockerfile ``ENV``
detect-secrets also flags, the env-file parser on a tracked ``.env`` line, the line scanner on a
YAML or code line detect-secrets' KeywordDetector also flags): their hits are
merged on (file, line) into one ``secrets.repo.committed_secret`` finding that lists every
detector, with the highest of their severities. Two different secrets on one line stay two
findings (told apart by a keyed fingerprint, never shown; the target then carries the
column). File-level findings (a tracked env file, a container file with literals, a filled
template) say what is wrong with the file and point at those per-secret findings.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
import secrets as random_source
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from harden_lib.area import AreaSpec
from harden_lib.catalog import finding
from harden_lib.checks.config_rules import secret_strength
from harden_lib.envfile import EnvFile, is_well_known_value, load_env_file, looks_like_secret, url_password
from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import is_secret_key, register_secret
from harden_lib.secret_literals import (
    LiteralSecret,
    is_compose_file,
    is_dockerfile,
    is_literal_secret,
    scan_file,
    scan_lines,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

GIT_TIMEOUT_S = 30


class StrengthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_length: int = Field(32, ge=8, le=1024)
    min_entropy_bits: float = Field(128, ge=32, le=4096)


class SecretsParams(BaseModel):
    """The ``secrets:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    repo_path: Path | None = Field(None, description="a checkout of the deployed repository to scan")
    exclude: list[str] = Field(
        default_factory=list, description="globs of repo-relative paths to leave out (known test fixtures)"
    )
    env_templates: list[str] = Field(
        default_factory=lambda: [".env.example", ".env.template", ".env.sample", ".env.dist", ".env.defaults"],
        description="tracked .env* files that are templates, not secrets (names or globs)",
    )
    env_files: dict[str, Path] = Field(
        default_factory=dict,
        description="other environments' env files (name: path), compared with this one's config.env_file",
    )
    strength: StrengthParams = Field(default_factory=StrengthParams)
    max_file_bytes: int = Field(2_000_000, ge=1_000, le=100_000_000, description="larger files are not scanned")


@dataclass(frozen=True)
class CommittedSecret:
    """One detect-secrets hit (one plugin, one line): the raw evidence behind ``SecretsAudit.secrets``."""

    file: str
    line: int
    kind: str


#: Why a skip for missing configuration is informational (it cannot gate a release).
_NOT_CONFIGURED = "not configured: nothing was checked, informational"
#: The names of the kit's own detectors, as listed next to detect-secrets' plugin names.
LITERAL_DETECTOR = "secret literal"
ENV_DETECTOR = "env file"
LINE_DETECTOR = "line scan"
#: detect-secrets plugins whose hits are no credential (a public IP address); all others are high.
_LOW_DETECTORS = frozenset({"IPPublicDetector"})
_KIT_DETECTORS = (LITERAL_DETECTOR, ENV_DETECTOR, LINE_DETECTOR)
_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


@dataclass(frozen=True)
class SecretLine:
    """One committed secret, however many detectors found it. Never holds the value.

    ``column`` is set when two different secrets share the line (then it tells them apart);
    ``fingerprint`` is an HMAC with a key made for this run (equal within a run = same value),
    kept out of ``repr`` and never shown.
    """

    file: str  # repo-relative
    line: int
    detectors: tuple[str, ...]
    kinds: tuple[str, ...] = ()  # detect-secrets secret types ("AWS Access Key", …)
    contexts: tuple[str, ...] = ()  # "NPM_TOKEN is a literal in Dockerfile ARG", …
    severity: Severity = Severity.HIGH
    column: int | None = None
    fingerprint: str = field(default="", repr=False, compare=False)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")

    @property
    def what(self) -> str:
        return "; ".join([*self.contexts, *([", ".join(self.kinds)] if self.kinds else [])])


@dataclass
class SecretsAudit:
    """Findings plus the evidence behind them (never a value)."""

    findings: list[Finding] = field(default_factory=list)
    committed: list[CommittedSecret] = field(default_factory=list)
    literals: list[LiteralSecret] = field(default_factory=list)
    tracked_env_files: list[str] = field(default_factory=list)  # repo-relative
    repo_name: str = ""
    scanned_files: int = 0
    fingerprints: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> env -> fingerprint
    secrets: list[SecretLine] = field(default_factory=list)  # one per committed secret, all detectors merged
    too_large: list[str] = field(default_factory=list)  # tracked files not scanned (max_file_bytes)

    def hits_table(self) -> pd.DataFrame:
        """One row per committed secret (listing every detector that found it), one per tracked env file."""
        import pandas as pd

        rows = [
            {
                "file": f"{self.repo_name}/{h.file}",
                "line": h.line,
                "what": h.what,
                "found by": ", ".join(h.detectors),
            }
            for h in self.secrets
        ]
        rows += [
            {"file": f"{self.repo_name}/{p}", "line": None, "what": "env file tracked by git", "found by": "harden"}
            for p in self.tracked_env_files
        ]
        return pd.DataFrame(rows, columns=["file", "line", "what", "found by"])

    def fingerprint_table(self) -> pd.DataFrame:
        """Per secret key, each environment's keyed fingerprint (equal = same value); random per run."""
        import pandas as pd

        envs = sorted({e for per_env in self.fingerprints.values() for e in per_env})
        rows = []
        for key, per_env in sorted(self.fingerprints.items()):
            values = list(per_env.values())
            shared = len(values) != len(set(values))
            rows.append({"key": key, **{e: per_env.get(e, "") for e in envs}, "shared": "YES" if shared else ""})
        return pd.DataFrame(rows, columns=["key", *envs, "shared"])


# --------------------------------------------------------------------------- the repository


def tracked_files(repo: Path) -> tuple[list[str], bool]:
    """(repo-relative paths, is a git checkout). Outside git every regular file counts."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        proc = None
    if proc is not None and proc.returncode == 0:
        return [p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p], True
    files = [str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts]
    return sorted(files), False


def _excluded(path: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, g) or fnmatch.fnmatch(Path(path).name, g) for g in globs)


def is_env_file(name: str) -> bool:
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


@dataclass(frozen=True)
class _Hit:
    """One detector's hit on one line; ``value`` only lives here, to merge hits, and is never shown."""

    file: str  # repo-relative
    line: int
    detector: str
    severity: Severity
    value: str | None = field(default=None, repr=False)
    kind: str = ""
    context: str = ""


def _detect_secrets(repo: Path, files: list[str]) -> list[_Hit]:
    """detect-secrets over ``files`` (repo-relative), with its default plugins and filters."""
    from detect_secrets import SecretsCollection
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import default_settings

    plugins = {kind: cls.__name__ for kind, cls in get_mapping_from_secret_type_to_class().items()}
    collection = SecretsCollection(root=str(repo))
    with default_settings():
        # One process: a pool of forks from inside a Jupyter kernel or a threaded runner is fragile.
        for path in files:  # scan_files() forks a pool even for one worker
            collection.scan_file(path)
    hits = []
    for filename, secret in collection:
        if secret.secret_value:
            register_secret(secret.secret_value)  # so scrubbing catches it, should it travel anywhere
        detector = plugins.get(secret.type, secret.type)
        severity = Severity.LOW if detector in _LOW_DETECTORS else Severity.HIGH
        hits.append(_Hit(filename, secret.line_number or 0, detector, severity, secret.secret_value, kind=secret.type))
    return hits


def scan_committed(repo: Path, files: list[str]) -> list[CommittedSecret]:
    """detect-secrets over ``files`` (repo-relative): one entry per plugin and line (raw evidence)."""
    return _committed(_detect_secrets(repo, files))


def _committed(hits: list[_Hit]) -> list[CommittedSecret]:
    found = {CommittedSecret(file=h.file, line=h.line, kind=h.kind) for h in hits}
    return sorted(found, key=lambda h: (h.file, h.line, h.kind))


# --------------------------------------------------------------------------- one finding per secret


def _line_text(repo: Path, path: str, line: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = (repo / path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _literal_value(text: str, key: str) -> str | None:
    """The value written after ``key`` on a compose/Dockerfile line (``K=v``, ``K: v``, ``ENV K v``)."""
    match = re.search(rf"(?<![\w.-]){re.escape(key)}[\"']?(?:\s*[=:]\s*|\s+)(\"[^\"]*\"|'[^']*'|[^\s#]+)", text)
    if not match:
        return None
    value = match.group(1).strip("\"'")
    return value or None


#: Characters that continue a token (a key, a base64 string, a URL password) on either side of a hit.
_TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/.~%")


def _span(text: str, value: str | None) -> tuple[int, int] | None:
    """Where a detector's value sits on the line, widened to the whole token.

    Detectors report different pieces of one secret (detect-secrets' GitHubTokenDetector gives
    just ``ghp``, a keyword detector the quoted string, the env-file parser the whole value):
    widened to the token around them, the pieces of one secret overlap and different secrets
    on one line do not.
    """
    if not value or not text:
        return None
    start = text.find(value)
    if start < 0:
        return None
    end = start + len(value)
    while start > 0 and text[start - 1] in _TOKEN:
        start -= 1
    while end < len(text) and (text[end] in _TOKEN or text[end] == "="):  # base64 padding
        end += 1
    return start, end


def merge_hits(hits: list[_Hit], line_text: dict[tuple[str, int], str]) -> list[SecretLine]:
    """One ``SecretLine`` per secret: hits grouped on (file, line), then by overlapping position on the line.

    A hit whose value cannot be located on the line (a multi-line value) joins the line's first
    secret: on one line, one finding too many is worse than two detectors' names on one finding.
    """
    run_key = random_source.token_bytes(32)
    by_line: dict[tuple[str, int], list[_Hit]] = {}
    for hit in hits:
        by_line.setdefault((hit.file, hit.line), []).append(hit)
    out: list[SecretLine] = []
    for (file, line), group in sorted(by_line.items()):
        text = line_text.get((file, line), "")
        located = sorted(((_span(text, h.value), h) for h in group), key=lambda x: (x[0] is None, x[0] or (0, 0)))
        clusters: list[tuple[list[tuple[int, int]], list[_Hit]]] = []
        for span, hit in located:
            home = None
            if span is None:
                home = clusters[0] if clusters else None
            else:
                home = next((c for c in clusters if any(a < span[1] and span[0] < b for a, b in c[0])), None)
            if home is None:
                home = ([], [])
                clusters.append(home)
            if span is not None:
                home[0].append(span)
            home[1].append(hit)
        for spans, cluster in clusters:
            widest = max(spans, key=lambda sp: sp[1] - sp[0], default=None)
            secret = text[widest[0] : widest[1]] if widest else max((h.value or "" for h in cluster), key=len)
            column = min(a for a, _ in spans) + 1 if len(clusters) > 1 and spans else None
            fingerprint = hmac.new(run_key, secret.encode(), hashlib.sha256).hexdigest()[:16] if secret else ""
            detectors = sorted({h.detector for h in cluster}, key=lambda d: (d in _KIT_DETECTORS, d))
            out.append(
                SecretLine(
                    file=file,
                    line=line,
                    detectors=tuple(detectors),
                    kinds=tuple(sorted({h.kind for h in cluster if h.kind})),
                    contexts=tuple(dict.fromkeys(h.context for h in cluster if h.context)),
                    severity=max((h.severity for h in cluster), key=_SEVERITY_ORDER.index),
                    column=column,
                    fingerprint=fingerprint,
                )
            )
    return sorted(out, key=lambda h: (h.file, h.line, h.column or 0))


def _env_file_hits(repo: Path, path: str) -> tuple[list[_Hit], str | None]:
    """Secret values of a tracked env file, line by line (detect-secrets misses unquoted ``KEY=value``)."""
    try:
        parsed = load_env_file(repo / path)
    except HardenError as exc:
        return [], str(exc)
    hits = []
    for key, value in parsed.values.items():
        if not value or key not in parsed.lines:
            continue
        password = url_password(value)
        if is_literal_secret(key, value) or (password and not is_well_known_value(password)):
            hits.append(
                _Hit(path, parsed.lines[key], ENV_DETECTOR, Severity.HIGH, value,
                     context=f"{key} is set in a tracked env file")
            )  # fmt: skip
    return hits, None


def _line_scan_hits(repo: Path, files: list[str], max_bytes: int, known: list[_Hit]) -> list[_Hit]:
    """The line scanner over every tracked file but env files (parsed by python-dotenv; templates
    are judged by ``check_template``). A line the literal scanner already read (a compose
    ``environment:`` entry, a Dockerfile ``ENV``) keeps that more precise detector alone."""
    structured = {(h.file, h.line) for h in known if h.detector in (LITERAL_DETECTOR, ENV_DETECTOR)}
    hits = []
    for path in files:
        if is_env_file(Path(path).name):
            continue
        for found in scan_lines(repo / path, display=path, max_bytes=max_bytes):
            if (path, found.line) not in structured:
                hits.append(_Hit(path, found.line, LINE_DETECTOR, Severity.HIGH, found.value, context=found.what))
    return hits


def scan_repository(params: SecretsParams, audit: SecretsAudit) -> None:
    repo = params.repo_path
    if repo is None:
        audit.findings.append(
            finding(
                "secrets.repo",
                Status.SKIP,
                "",
                "secrets.repo_path is not configured",
                severity=Severity.INFO,
                severity_reason=_NOT_CONFIGURED,
            )
        )
        return
    if not repo.is_dir():
        audit.findings.append(
            finding(
                "secrets.repo",
                Status.ERROR,
                str(repo),
                "the folder does not exist",
                remediation="Check secrets.repo_path: it must name an existing folder (relative to the params file).",
            )
        )
        return
    files, is_git = tracked_files(repo)
    files = [f for f in files if not _excluded(f, params.exclude)]
    present = [f for f in files if (repo / f).is_file()]
    sized = [f for f in present if (repo / f).stat().st_size <= params.max_file_bytes]
    audit.too_large = [f for f in present if f not in set(sized)]
    audit.scanned_files = len(sized)
    name = repo.name
    audit.repo_name = name
    if not is_git:
        audit.findings.append(
            finding(
                "secrets.repo.git",
                Status.WARN,
                name,
                "not a git work tree: every file was scanned, not just tracked ones",
            )
        )

    # Every detector's hits, merged into one finding per secret.
    hits = _detect_secrets(repo, sized)
    audit.committed = _committed(hits)
    templates = params.env_templates
    audit.tracked_env_files = [
        f for f in files if is_env_file(Path(f).name) and not any(fnmatch.fnmatch(Path(f).name, t) for t in templates)
    ]
    env_errors: dict[str, str] = {}
    for path in audit.tracked_env_files:
        if path in sized:
            env_hits, error = _env_file_hits(repo, path)
            hits += env_hits
            if error:
                env_errors[path] = error
    container_files = [f for f in sized if is_compose_file(Path(f).name) or is_dockerfile(Path(f).name)]
    texts: dict[str, list[str]] = {}
    literal_files: dict[str, list[LiteralSecret]] = {}
    for path in container_files:
        found = scan_file(repo / path, display=f"{name}/{path}")
        audit.literals.extend(found)
        for literal in found:
            literal_files.setdefault(path, []).append(literal)
            text = _line_text(repo, path, literal.line, texts)
            hits.append(
                _Hit(path, literal.line, LITERAL_DETECTOR, Severity.HIGH, _literal_value(text, literal.key),
                     context=f"{literal.key} is a literal in {literal.where}")
            )  # fmt: skip
    hits += _line_scan_hits(repo, sized, params.max_file_bytes, hits)
    line_text = {(h.file, h.line): _line_text(repo, h.file, h.line, texts) for h in hits}
    audit.secrets = merge_hits(hits, line_text)

    for secret in audit.secrets:
        remediation = (
            "Remove it from the code, rotate it (it is in the git history for good), and load it from the "
            "environment or a secret manager."
        )
        if LITERAL_DETECTOR in secret.detectors:
            remediation += (
                " In compose files use a ${VAR} reference; in Dockerfiles a build secret (RUN --mount=type=secret):"
                " a literal also ends up in the image layers."
            )
        audit.findings.append(
            finding(
                "secrets.repo.committed_secret",
                Status.FAIL,
                f"{name}/{secret.location}",
                f"{secret.what}; found by: {', '.join(secret.detectors)}",
                remediation=remediation,
                severity=secret.severity,
                severity_reason="found only by detectors of data that is no credential (a public IP address)",
            )
        )
    if audit.too_large:
        shown = ", ".join(audit.too_large[:5]) + (
            f" (+{len(audit.too_large) - 5} more)" if len(audit.too_large) > 5 else ""
        )
        audit.findings.append(
            finding(
                "secrets.repo.committed_secret",
                Status.WARN,
                name,
                f"{len(sized)} tracked files scanned, but {len(audit.too_large)} larger than secrets.max_file_bytes "
                f"({params.max_file_bytes:,} bytes) were not: {shown}",
                expected="every tracked file scanned",
                remediation="Raise secrets.max_file_bytes, or exclude the files (secrets.exclude) once you know they "
                "hold no secret.",
                severity=Severity.MEDIUM,
                severity_reason="an incomplete scan: files were left out, no secret was found in them",
            )
        )
    elif not audit.secrets:
        audit.findings.append(
            finding(
                "secrets.repo.committed_secret",
                Status.PASS,
                name,
                f"{len(sized)} tracked files scanned, no secret found",
            )
        )

    for path in audit.tracked_env_files:
        inside = [h for h in audit.secrets if h.file == path]
        observed = "tracked by git"
        if inside:
            lines = ", ".join(str(h.line) for h in inside)
            observed += (
                f"; holds {len(inside)} secret value(s) (line {lines}), each reported once under "
                "secrets.repo.committed_secret"
            )
        if path in env_errors:
            observed += f"; could not be parsed line by line ({env_errors[path]})"
        audit.findings.append(
            finding(
                "secrets.repo.env_file_tracked",
                Status.FAIL,
                f"{name}/{path}",
                observed,
                expected=f"only templates ({', '.join(templates)}) are tracked",
                remediation=f"git rm --cached {path}, add it to .gitignore, rotate every secret it held.",
            )
        )
    if not audit.tracked_env_files:
        audit.findings.append(
            finding("secrets.repo.env_file_tracked", Status.PASS, name, "no tracked .env file other than templates")
        )

    template_files = [f for f in sized if is_env_file(Path(f).name) and f not in audit.tracked_env_files]
    for path in template_files:
        check_template(repo / path, f"{name}/{path}", audit)

    for path, found in literal_files.items():
        listed = "; ".join(f"{h.key} at line {h.line} ({h.where})" for h in found)
        audit.findings.append(
            finding(
                "secrets.repo.literal",
                Status.FAIL,
                f"{name}/{path}",
                f"{len(found)} secret literal(s): {listed}; each secret is reported once under "
                "secrets.repo.committed_secret",
            )
        )
    if container_files and not literal_files:
        audit.findings.append(
            finding(
                "secrets.repo.literal",
                Status.PASS,
                name,
                f"{len(container_files)} compose/Dockerfiles scanned",
                expected="no secret literals",
            )
        )


def check_template(path: Path, shown: str, audit: SecretsAudit) -> None:
    """A tracked template should carry names, not values: a real-looking secret there is suspicious."""
    try:
        template = load_env_file(path)
    except HardenError as exc:
        audit.findings.append(
            finding(
                "secrets.repo.template_values",
                Status.ERROR,
                shown,
                str(exc),
                expected="a readable template",
                remediation="Make the template readable UTF-8 text (or exclude it with secrets.exclude).",
                severity=Severity.HIGH,
                severity_reason="the template could not be read, so whatever it holds was not checked",
            )
        )
        return
    filled = sorted(
        k for k, v in _secret_keys(template).items() if secret_strength(v, min_length=16, min_entropy_bits=64).ok
    )
    observed = f"real-looking values for {', '.join(filled)}" if filled else "no real-looking secret values"
    audit.findings.append(
        finding("secrets.repo.template_values", Status.WARN if filled else Status.PASS, shown, observed)
    )


# --------------------------------------------------------------------------- env files


def _secret_keys(env_file: EnvFile) -> dict[str, str]:
    return {k: v for k, v in env_file.values.items() if v and (is_secret_key(k) or looks_like_secret(v))}


def compare_environments(env_files: dict[str, EnvFile], audit: SecretsAudit) -> None:
    """The same secret in two environments fails: one leak then opens both."""
    run_key = random_source.token_bytes(32)  # fresh per run: fingerprints cannot be compared across runs

    def fingerprint(value: str) -> str:
        return hmac.new(run_key, value.encode(), hashlib.sha256).hexdigest()[:16]

    secrets_per_env = {name: _secret_keys(f) for name, f in env_files.items()}
    keys = sorted({k for per_env in secrets_per_env.values() for k in per_env})
    for key in keys:
        present = {name: fingerprint(values[key]) for name, values in secrets_per_env.items() if key in values}
        if len(present) < 2:
            continue
        audit.fingerprints[key] = present
        groups: dict[str, list[str]] = {}
        for name, fp in present.items():
            groups.setdefault(fp, []).append(name)
        shared = [names for names in groups.values() if len(names) > 1]
        if shared:
            audit.findings.append(
                finding(
                    "secrets.env.shared",
                    Status.FAIL,
                    key,
                    "same value in "
                    + "; ".join(" and ".join(sorted(n)) for n in shared)
                    + " (keyed fingerprints match)",
                    remediation=f"Generate a new {key} for each environment and rotate the shared one.",
                )
            )
        else:
            audit.findings.append(
                finding("secrets.env.shared", Status.PASS, key, "distinct in " + ", ".join(sorted(present)))
            )


def check_strength(env_file: EnvFile, params: StrengthParams, audit: SecretsAudit) -> None:
    """Every secret-like key of the env file, judged by the config area's own strength rule."""
    for key, value in sorted(_secret_keys(env_file).items()):
        result = secret_strength(value, min_length=params.min_length, min_entropy_bits=params.min_entropy_bits)
        observed = result.description + ("" if result.ok else "; " + "; ".join(result.problems))
        audit.findings.append(
            finding(
                "secrets.env.strength",
                Status.PASS if result.ok else Status.FAIL,
                f"{env_file.path.name}:{key}",
                observed,
                expected=f"at least {params.min_length} characters and ~{params.min_entropy_bits:.0f} bits of "
                "estimated entropy",
                remediation=f"Generate {key} with `openssl rand -base64 48` and rotate it.",
            )
        )


def scan_env_files(env: Environment, audit: SecretsAudit) -> None:
    named: dict[str, Path] = {}
    if env.config.env_file:
        named[env.name] = env.config.env_file
    named.update(env.secrets.env_files)
    loaded: dict[str, EnvFile] = {}
    for name, path in named.items():
        try:
            loaded[name] = load_env_file(path)
        except HardenError as exc:
            audit.findings.append(finding("secrets.env", Status.ERROR, f"{name}: {path.name}", str(exc)))
    if not named:
        audit.findings.append(
            finding(
                "secrets.env",
                Status.SKIP,
                "",
                "no env file configured (config.env_file, secrets.env_files)",
                expected="env files to check",
                severity=Severity.INFO,
                severity_reason=_NOT_CONFIGURED,
            )
        )
        return
    own = loaded.get(env.name)
    if own is not None:
        check_strength(own, env.secrets.strength, audit)
    if len(loaded) >= 2:
        compare_environments(loaded, audit)


def audit(env: Environment) -> SecretsAudit:
    """Run every secrets check once; the notebook shows the findings and the evidence."""
    result = SecretsAudit()
    scan_repository(env.secrets, result)
    scan_env_files(env, result)
    return result


def run(env: Environment) -> list[Finding]:
    return audit(env).findings


def plot_findings(findings: list[Finding]) -> Figure:
    """Outcomes per kind of secrets check."""
    from harden_lib.render import plot_stacked_status

    counts: dict[str, dict[str, int]] = {}
    for item in findings:
        bucket = counts.setdefault(item.check_id.removeprefix("secrets."), {})
        bucket[item.status.value] = bucket.get(item.status.value, 0) + 1
    return plot_stacked_status(counts, "Secrets checks by outcome")


AREA = AreaSpec(
    name="secrets",
    title="Secrets hygiene",
    purpose="No secret in git or container files, a different secret per environment, each one strong.",
    params=SecretsParams,
    order=70,
)
