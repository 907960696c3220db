"""Logging and alerting: alert rules present with thresholds, request logs present, logs free of PII.

"Alerts are configured" and "API requests are logged, without personal data" are checklist items a
machine can check from the artefacts a team already has: the Prometheus rule files in the repository
and a sample of the production log (a file exported for the audit, or a command printing the last
lines)::

    monitoring:
      alert_rules:
        files: [../deploy/prometheus/alerts.yml]   # rule files (groups: - rules: - alert: …) or PrometheusRule
        required:
          - name: "High(Http)?ErrorRate|Api5xx"      # regular expression on the alert name (whole name)
            expr: "5.."                              # optional: regular expression the expr must contain
            threshold_at_most: 0.05                  # optional: `expr > N` with N <= 0.05
          - name: "DiskSpaceLow"
            threshold_at_least: 10                   # optional: `expr < N` with N >= 10
      logs:
        - name: api-access
          file: ../evidence/api-access.log          # or command: [kubectl, logs, deploy/api, --tail=2000]
          require_requests: true                     # request lines (method, path, status) must be present
          forbid: [card, bearer, password, email]    # personal data / credentials that must not appear
          email_allow: [example.com]                 # addresses at these domains are not personal

Findings (area ``monitoring``):

- ``monitoring.alerts.rule_file`` (target: the file): the file is YAML in Prometheus' rule-file shape
  (``groups`` with unique names, each rule ``alert`` xor ``record``, a non-empty ``expr``, ``for`` a
  duration, labels and annotations string maps); error when unreadable or not YAML.
- ``monitoring.alerts.required`` (target: the required name pattern): an alert whose name matches,
  whose ``expr`` contains the pattern asked for, and whose threshold is at most / at least the
  number asked for; error when no rule file could be read.
- ``monitoring.logs.requests`` (target: the sample's name): request lines recognised in common /
  combined access-log format, JSON lines (method + path/url + status fields) or logfmt / plain
  ``GET /path 200`` lines.
- ``monitoring.logs.pii`` (target: the sample's name): no Luhn-valid card number (13–19 digits with a
  card brand's prefix), bearer token / JWT / vendor token shape / credential query parameter
  (``?access_token=``, ``&code=``), unmasked ``password=`` value or e-mail address, also
  percent-encoded (``email=jane%40…``). Only kinds and line numbers are shown, never a value.
- ``monitoring.configured``: skip when nothing is configured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote_plus

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import clean_observed, finding
from harden_lib.checks.evidence_source import TextSource, read_source
from harden_lib.findings import Finding, Status
from harden_lib.redact import find_token_shapes, is_secret_query_param

if TYPE_CHECKING:
    import pandas as pd

    from harden_lib.environment import Environment

PiiKind = Literal["card", "bearer", "password", "email"]
#: Line numbers shown per kind (the count is always complete).
SHOWN_LINES = 10
#: Rules read per file (YAML aliases can make a small hostile file list millions of rules).
MAX_RULES = 20_000
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc.msg})") from None
    return value


class RequiredAlert(BaseModel):
    """An alert the checklist asks for: its name pattern and, optionally, what its expr must say."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="regular expression matching the whole alert name (case-insensitive)")
    expr: str | None = Field(None, description="regular expression the expr must contain")
    threshold_at_most: float | None = Field(None, description="the expr fires above a number at most this")
    threshold_at_least: float | None = Field(None, description="the expr fires below a number at least this")
    title: str | None = Field(None, description="what the alert is for, in the checklist's words")

    @field_validator("name", "expr")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        return _regex(value)

    @model_validator(mode="after")
    def _one_threshold(self) -> RequiredAlert:
        if self.threshold_at_most is not None and self.threshold_at_least is not None:
            raise ValueError("give threshold_at_most or threshold_at_least, not both")
        return self


class AlertRulesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: list[Path] = Field(default_factory=list, description="Prometheus rule files (or folders of them)")
    required: list[RequiredAlert] = Field(default_factory=list)


class LogSample(TextSource):
    """A sample of a production log: a file or a command's output."""

    name: str = Field(min_length=1, max_length=80, description="label of the log (the findings' target)")
    require_requests: bool = Field(True, description="request lines (method, path, status) must be present")
    min_request_lines: int = Field(1, ge=1)
    forbid: list[PiiKind] = Field(
        default_factory=lambda: ["card", "bearer", "password", "email"],
        description="kinds of personal data or credentials that must not appear (empty: not checked)",
    )
    email_allow: list[str] = Field(
        default_factory=list, description="domains whose addresses are not personal (e.g. noreply senders)"
    )


class MonitoringParams(BaseModel):
    """The ``monitoring:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    alert_rules: AlertRulesParams = Field(default_factory=AlertRulesParams)
    logs: list[LogSample] = Field(default_factory=list)


# --------------------------------------------------------------------------- alert rules


@dataclass
class Alert:
    name: str
    expr: str
    file: str
    duration: str = ""


@dataclass
class RuleFile:
    path: Path
    alerts: list[Alert] = field(default_factory=list)
    records: int = 0
    groups: int = 0
    problems: list[str] = field(default_factory=list)
    error: str = ""


def _rule_paths(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in (".yml", ".yaml") and p.is_file())
        else:
            yield path


def _groups_of(document: Any) -> Any:
    if isinstance(document, dict) and document.get("kind") == "PrometheusRule":
        return (document.get("spec") or {}).get("groups")
    return document.get("groups") if isinstance(document, dict) else None


def parse_rule_file(path: Path) -> RuleFile:
    """A rule file's alerts, and every way its shape differs from Prometheus' rule-file format."""
    result = RuleFile(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        result.error = f"{path.name} does not exist"
        return result
    except (OSError, UnicodeDecodeError):
        result.error = f"{path.name} cannot be read as UTF-8 text"
        return result
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except RecursionError:
        result.error = f"{path.name} is nested deeper than a rule file can be"
        return result
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        result.error = f"{path.name} is not valid YAML{where}"
        return result
    if not documents:
        result.error = f"{path.name} is empty"
        return result
    for document in documents:
        groups = _groups_of(document)
        if not isinstance(groups, list):
            result.problems.append("no 'groups:' list at the top (nor spec.groups of a PrometheusRule)")
            continue
        names: set[str] = set()
        for g_index, group in enumerate(groups):
            where = f"groups[{g_index}]"
            if not isinstance(group, dict):
                result.problems.append(f"{where} is not a mapping")
                continue
            result.groups += 1
            name = group.get("name")
            if not isinstance(name, str) or not name:
                result.problems.append(f"{where} has no name")
            elif name in names:
                result.problems.append(f"{where}: group name {clean_observed(name, 60)!r} repeated")
            else:
                names.add(name)
            rules = group.get("rules")
            if not isinstance(rules, list):
                result.problems.append(f"{where} has no 'rules:' list")
                continue
            for r_index, rule in enumerate(rules):
                if len(result.alerts) + result.records >= MAX_RULES:
                    result.problems.append(f"more than {MAX_RULES} rules: the rest was not read")
                    return result
                _check_rule(result, rule, f"{where}.rules[{r_index}]")
    return result


def _check_rule(result: RuleFile, rule: Any, where: str) -> None:
    if not isinstance(rule, dict):
        result.problems.append(f"{where} is not a mapping")
        return
    alert, record, expr = rule.get("alert"), rule.get("record"), rule.get("expr")
    if (alert is None) == (record is None):
        result.problems.append(f"{where} needs exactly one of 'alert' or 'record'")
        return
    if not isinstance(expr, str | int | float) or not str(expr).strip():
        result.problems.append(f"{where} has no expr")
        return
    duration = rule.get("for")
    if duration is not None and not _DURATION.match(str(duration)):
        result.problems.append(f"{where}: 'for' is not a duration like 5m")
    for key in ("labels", "annotations"):
        value = rule.get(key)
        if value is not None and not (isinstance(value, dict) and all(isinstance(k, str) for k in value)):
            result.problems.append(f"{where}: {key} is not a map of strings")
    unknown = set(rule) - {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
    if unknown:
        result.problems.append(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))[:120]}")
    if alert is not None:
        result.alerts.append(Alert(str(alert), str(expr), result.path.name, str(duration or "")))
    else:
        result.records += 1


_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_COMPARISON = re.compile(rf"(>=|<=|==|!=|>|<)\s*(?:bool\s+)?({_NUMBER})(?![\w.])")
_REVERSED = re.compile(rf"(?<![\w.])({_NUMBER})\s*(?:bool\s+)?(>=|<=|==|!=|>|<)(?!=)")
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}


def thresholds(expr: str) -> list[tuple[str, float]]:
    """The comparisons of a PromQL expr with a number, as (operator, number) with the series on the left."""
    found = [(op, float(num)) for op, num in _COMPARISON.findall(expr)]
    found += [(_FLIP[op], float(num)) for num, op in _REVERSED.findall(expr)]
    return found


def judge_required(required: RequiredAlert, alerts: list[Alert]) -> tuple[Status, str]:
    pattern = re.compile(required.name, re.IGNORECASE)
    named = [a for a in alerts if pattern.fullmatch(a.name)]
    if not named:
        return Status.FAIL, f"no alert named like /{clean_observed(required.name, 80)}/ among {len(alerts)} alerts"
    if required.expr:
        matching = [a for a in named if re.search(required.expr, a.expr)]
        if not matching:
            names = ", ".join(clean_observed(a.name, 60) for a in named[:5])
            return Status.FAIL, f"{names}: expr does not contain /{clean_observed(required.expr, 80)}/"
        named = matching
    if required.threshold_at_most is None and required.threshold_at_least is None:
        alert = named[0]
        return Status.PASS, f"{clean_observed(alert.name, 80)} in {alert.file}"
    notes = []
    for alert in named:
        if required.threshold_at_most is not None:
            limits = [n for op, n in thresholds(alert.expr) if op in (">", ">=")]
            ok = [n for n in limits if n <= required.threshold_at_most]
            want = f"> N with N <= {required.threshold_at_most:g}"
        else:
            assert required.threshold_at_least is not None
            limits = [n for op, n in thresholds(alert.expr) if op in ("<", "<=")]
            ok = [n for n in limits if n >= required.threshold_at_least]
            want = f"< N with N >= {required.threshold_at_least:g}"
        name = clean_observed(alert.name, 80)
        if ok:
            return Status.PASS, f"{name} in {alert.file}: threshold {ok[0]:g} ({want})"
        notes.append(f"{name}: " + (f"threshold {', '.join(f'{n:g}' for n in limits)}" if limits else "no threshold"))
    return Status.FAIL, "; ".join(notes)[:400] + f" (expected {want})"


def check_alert_rules(params: AlertRulesParams) -> list[Finding]:
    findings: list[Finding] = []
    files = [parse_rule_file(p) for p in _rule_paths(params.files)]
    alerts: list[Alert] = []
    for rule_file in files:
        target = rule_file.path.name
        if rule_file.error:
            findings.append(finding("monitoring.alerts.rule_file", Status.ERROR, target, rule_file.error))
            continue
        counts = f"{rule_file.groups} groups, {len(rule_file.alerts)} alerts, {rule_file.records} recording rules"
        if rule_file.problems:
            shown = "; ".join(rule_file.problems[:8]) + ("; …" if len(rule_file.problems) > 8 else "")
            findings.append(
                finding("monitoring.alerts.rule_file", Status.FAIL, target, f"{counts}; {clean_observed(shown, 900)}")
            )
        else:
            findings.append(finding("monitoring.alerts.rule_file", Status.PASS, target, counts))
        alerts.extend(rule_file.alerts)
    readable = [f for f in files if not f.error]
    for required in params.required:
        target = required.title or required.name
        if not readable:
            findings.append(
                finding(
                    "monitoring.alerts.required",
                    Status.ERROR,
                    target,
                    "no rule file could be read" if params.files else "monitoring.alert_rules.files is empty",
                )
            )
            continue
        status, observed = judge_required(required, alerts)
        findings.append(finding("monitoring.alerts.required", status, target, observed))
    return findings


# --------------------------------------------------------------------------- log samples

_METHODS = "GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE"
#: common / combined log format: "GET /path HTTP/1.1" 200
_CLF = re.compile(rf'"(?:{_METHODS}) \S+ HTTP/[0-9.]+" [1-5]\d\d\b')
#: logfmt / plain: method=GET path=/x status=200, or GET /x 200 / GET /x -> 200
_PLAIN = re.compile(rf"\b(?:{_METHODS})\b\s+/\S*\s+(?:\S+\s+){{0,3}}?[1-5]\d\d\b")
#: logfmt fields, searched one by one (one pattern with two ``.*`` is quadratic on a hostile line)
_LOGFMT_PARTS = (
    re.compile(rf"\bmethod=\"?(?:{_METHODS})\b", re.IGNORECASE),
    re.compile(r"\b(?:path|url|uri|route)=\"?/", re.IGNORECASE),
    re.compile(r"\b(?:status|status_code|code)=\"?[1-5]\d\d\b", re.IGNORECASE),
)
#: A quoted request line with a status elsewhere on the line (AWS ALB/ELB, HAProxy, Envoy write the status
#: before the request): the status is a 3-digit token not part of an address, a port, a path or a decimal.
_QUOTED_REQUEST = re.compile(rf'"(?:{_METHODS}) \S+ HTTP/[0-9.]+"')
_STATUS_TOKEN = re.compile(r"(?<![\w.:/\-])[1-5]\d\d(?![\w.:/\-])")
#: Structured (JSON) request fields, matched on the key with '_' and '-' removed, at its end: ``method``,
#: ``req.method``, ``httpRequest.requestMethod``, ``http.request.method`` (ECS), ``res.statusCode`` …
_JSON_METHOD = ("method", "verb")
_JSON_PATH = ("path", "url", "uri", "route", "originalurl", "request", "target")
_JSON_STATUS = ("status", "statuscode", "code")


def _flatten(node: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Leaf fields as (path of normalised keys, value): ``{"req": {"method": …}}`` → ``("req.method", …)``."""
    if depth > 6 or not isinstance(node, dict):
        return
    for key, value in node.items():
        name = re.sub(r"[_\-]", "", str(key).lower())
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(value, dict):
            yield from _flatten(value, path, depth + 1)
        else:
            yield path, value


def _field(fields: dict[str, Any], names: tuple[str, ...], accept: re.Pattern[str]) -> Any:
    """The first field whose last key ends in one of ``names`` and whose value ``accept`` matches whole."""
    for key, value in fields.items():
        last = key.rsplit(".", 1)[-1]
        if last.endswith(names) and accept.fullmatch(str(value).strip()):
            return value
    return None


_ANY_METHOD = re.compile(_METHODS, re.IGNORECASE)
_STATUS_VALUE = re.compile(r"[1-5]\d\d")
_PATH_VALUE = re.compile(rf"(?:(?:{_METHODS}) )?(?:/|https?://|wss?://)\S*(?: HTTP/[0-9.]+)?")


def request_format(line: str) -> str | None:
    """Which request-log format a line is in, or None when it is not a request line."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            data = None
        if isinstance(data, dict):
            fields = dict(_flatten(data))
            path = _field(fields, _JSON_PATH, _PATH_VALUE)
            method = _field(fields, _JSON_METHOD, _ANY_METHOD)
            line_request = re.match(rf"({_METHODS}) ", str(path or ""))
            if line_request and method is None:  # nginx/apache "$request": "GET /x HTTP/1.1"
                method = line_request.group(1)
            if method is not None and path is not None and _field(fields, _JSON_STATUS, _STATUS_VALUE) is not None:
                return "JSON"
            # not a structured request entry: its text (a message like "GET /x 200") is read below
    if _CLF.search(line):
        return "common/combined"
    quoted = _QUOTED_REQUEST.search(line)
    if quoted and _STATUS_TOKEN.search(line[: quoted.start()] + " " + line[quoted.end() :]):
        return "access log (status before the request)"
    if all(part.search(line) for part in _LOGFMT_PARTS):
        return "logfmt"
    if _PLAIN.search(line):
        return "plain"
    return None


_CARD = re.compile(r"(?<![\w.+-])(?:\d[ -]?){12,18}\d(?![\w])")
#: Issuer prefixes of the card brands (Visa, Mastercard incl. 2221-2720, Amex, Discover, JCB, Diners, UnionPay,
#: Maestro): a Luhn-valid number without one (an order id, a timestamp in ms) is not reported.
_CARD_PREFIX = re.compile(
    r"^(?:4|5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720|3[47]|6011|64[4-9]|65|35(?:2[89]|[3-8]\d)"
    r"|30[0-5]|36|38|62|5018|5020|5038|5893|6304|6759|676[1-3])"
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{12,}=*")
_PASSWORD = re.compile(
    r"""(?ix)(?:\b|_)(?:password|passwd|pwd|pass)["']?\s*[:=]\s*(?:"([^"]*)"|'([^']*)'|([^\s&,;}\]"']*))"""
)
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24})\b")
_MASKED = re.compile(r"^(?:|\*+|x{3,}|X{3,}|null|none|redacted|\[redacted\]|\[filtered\]|<redacted>|-|\.\.\.)$", re.I)


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


_QUERY_PAIR = re.compile(r"[?&;]([A-Za-z0-9_.\-\[\]%]{1,60})=([^&\s\"'#;]*)")
_PASSWORD_NAME = re.compile(r"(?i)pass(?:word|wd)?|pwd")


def pii_kinds(line: str, email_allow: tuple[str, ...] = ()) -> set[str]:
    """The kinds of personal data or credentials on one line (never their values).

    The line is also read percent-decoded (``email=jane%40example.com`` in an access log is an
    address), and credential query parameters (``?access_token=…``, ``&api_key=…``, ``&code=…``)
    count as tokens (kind ``bearer``) or passwords.
    """
    kinds: set[str] = set()
    decoded = unquote_plus(line) if "%" in line or "+" in line else line
    texts = (line, decoded) if decoded != line else (line,)
    for text in texts:
        for match in _CARD.finditer(text):
            digits = re.sub(r"[ -]", "", match.group(0))
            if 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) and luhn_ok(digits):
                kinds.add("card")
                break
        for match in _EMAIL.finditer(text):
            domain = match.group(1).lower()
            if not any(domain == d or domain.endswith("." + d) for d in email_allow):
                kinds.add("email")
                break
    if _BEARER.search(line) or find_token_shapes(line):
        kinds.add("bearer")
    for match in _PASSWORD.finditer(decoded):
        value = next((g for g in match.groups() if g is not None), "")
        if not _MASKED.match(value.strip()):
            kinds.add("password")
            break
    for name, value in _QUERY_PAIR.findall(line):
        value = unquote_plus(value)
        if len(value) < 6 or _MASKED.match(value) or not is_secret_query_param(name):
            continue
        kinds.add("password" if _PASSWORD_NAME.search(name) else "bearer")
    return kinds


@dataclass
class LogScan:
    lines: int = 0
    requests: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    pii: dict[str, list[int]] = field(default_factory=dict)


def scan_log(text: str, sample: LogSample) -> LogScan:
    scan = LogScan()
    allow = tuple(d.lower().lstrip("@.") for d in sample.email_allow)
    forbid = set(sample.forbid)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        scan.lines += 1
        line = line[:20_000]  # a pathological line is judged on its head
        kind = request_format(line)
        if kind:
            scan.requests += 1
            scan.formats[kind] = scan.formats.get(kind, 0) + 1
        if forbid:
            for found in pii_kinds(line, allow) & forbid:
                scan.pii.setdefault(found, []).append(number)
    return scan


def check_log(sample: LogSample) -> list[Finding]:
    read = read_source(sample)
    if read.problem or not read.text.strip():
        problem = read.problem or "the sample is empty"
        out = []
        if sample.require_requests:
            out.append(finding("monitoring.logs.requests", Status.ERROR, sample.name, f"{read.label}: {problem}"))
        if sample.forbid:
            out.append(finding("monitoring.logs.pii", Status.ERROR, sample.name, f"{read.label}: {problem}"))
        return out
    scan = scan_log(read.text, sample)
    findings: list[Finding] = []
    where = f"{scan.lines} lines of {read.label}" + (" (cut at the size limit)" if read.truncated else "")
    if sample.require_requests:
        formats = ", ".join(f"{n} {k}" for k, n in sorted(scan.formats.items()))
        ok = scan.requests >= sample.min_request_lines
        findings.append(
            finding(
                "monitoring.logs.requests",
                Status.PASS if ok else Status.FAIL,
                sample.name,
                f"{scan.requests} request lines ({formats or 'none recognised'}) in {where}",
                expected=f"at least {sample.min_request_lines} request lines (method, path, status)",
            )
        )
    if sample.forbid:
        if scan.pii:
            parts = []
            for kind in sample.forbid:
                numbers = scan.pii.get(kind)
                if numbers:
                    shown = ", ".join(map(str, numbers[:SHOWN_LINES])) + (" …" if len(numbers) > SHOWN_LINES else "")
                    parts.append(f"{kind} on {len(numbers)} lines (line {shown})")
            observed = "; ".join(parts) + f" — values not shown; {where}"
            findings.append(finding("monitoring.logs.pii", Status.FAIL, sample.name, observed))
        else:
            findings.append(
                finding(
                    "monitoring.logs.pii",
                    Status.PASS,
                    sample.name,
                    f"none of {', '.join(sample.forbid)} found in {where}",
                )
            )
    return findings


# --------------------------------------------------------------------------- area


def check_monitoring(params: MonitoringParams) -> list[Finding]:
    if not params.alert_rules.files and not params.alert_rules.required and not params.logs:
        return [
            finding(
                "monitoring.configured",
                Status.SKIP,
                "(nothing configured)",
                "monitoring.alert_rules and monitoring.logs are empty",
            )
        ]
    findings = check_alert_rules(params.alert_rules)
    for sample in params.logs:
        findings.extend(check_log(sample))
    return findings


def run(env: Environment) -> list[Finding]:
    """The monitoring area's findings for one environment (the notebook calls this)."""
    return check_monitoring(env.monitoring)


def alert_table(params: MonitoringParams) -> pd.DataFrame:
    """Every alert of the configured rule files, with its thresholds (evidence)."""
    import pandas as pd

    rows = []
    for path in _rule_paths(params.alert_rules.files):
        parsed = parse_rule_file(path)
        for alert in parsed.alerts:
            rows.append(
                {
                    "file": alert.file,
                    "alert": clean_observed(alert.name, 80),
                    "for": alert.duration,
                    "thresholds": ", ".join(f"{op} {n:g}" for op, n in thresholds(alert.expr)),
                }
            )
    return pd.DataFrame(rows)


AREA = AreaSpec(
    name="monitoring",
    title="Logging and alerting",
    purpose="Alert rules present with thresholds; request logs present and free of card numbers, tokens, "
    "passwords and e-mail addresses.",
    params=MonitoringParams,
    order=110,
)
