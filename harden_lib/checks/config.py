"""Configuration preflight: the deployment's env file checked against the environment's rules.

One wrong line in an env file (a ``ws://`` relay, a placeholder session secret, CORS ``*``,
devtools left on) undoes every other control, and it is the cheapest thing to check before a
launch. The rules are data in the params (see ``config_rules`` for their YAML shape), so any
system's checklist can be expressed without new Python::

    config:
      env_file: ../deploy/.env.production     # relative to the params file
      rules:
        - {kind: url, key: NEXT_PUBLIC_NOSTR_RELAYS, schemes: [wss], allow_list: true,
           references: ["dstream checklist §1: relay URL safety (wss:// only)"]}
        - {kind: equals, key: DSTREAM_DEVTOOLS, value: "0", id: config.devtools.off}

Findings (area ``config``; target ``<env file name>:<KEY>``):

* ``config.env_file``: ``skip`` when no env file is configured, ``error`` when it is missing
  or unreadable (then nothing else is reported), else ``pass`` with what was read;
* ``config.env_file.syntax`` (``warn``, one per line) for statements python-dotenv skipped
  or keys without ``=``; ``config.env_file.duplicate_key`` (``warn``) for keys defined twice;
* one finding per rule and key: ``pass``, ``fail`` (or ``warn`` for ``on_fail: warn``),
  ``skip`` for an ``optional`` absent key or a conditional whose ``if`` does not hold.

``observed`` never holds a secret: keys that look secret by name (``redact.is_secret_key``:
``PGPASSWORD``, ``clientSecret``, ``*_PASSPHRASE`` …) or by value, and every key a
``secret_strength``/``hex_key`` rule covers, are shown by shape (``redact.describe_secret``); a
``required`` rule shows only the shape of any key it checks; URLs lose their passwords and
credential query parameters; every text is finally scrubbed of all registered secret values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from harden_lib.area import AreaSpec
from harden_lib.catalog import finding
from harden_lib.checks.config_rules import (
    RULE_KINDS,
    SECRET_KINDS,
    ConditionalRule,
    Effective,
    KeyedRule,
    Rule,
    Shown,
    StrengthResult,
    effective,
    host_problem,
    parse_endpoint,
    secret_strength,
)
from harden_lib.envfile import (
    EnvFile,
    SyntaxProblem,
    is_truthy,
    is_well_known_value,
    load_env_file,
    looks_like_secret,
    split_list,
)
from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import is_secret_key, register_secret, scrub_output

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

__all__ = [
    "ConfigParams",
    "EnvFile",
    "StrengthResult",
    "SyntaxProblem",
    "check_config",
    "env_inventory",
    "evaluate_rules",
    "host_problem",
    "load_env_file",
    "plot_rule_outcomes",
    "run",
    "secret_strength",
]


class ConfigParams(BaseModel):
    """The ``config:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    env_file: Path | None = Field(None, description="the deployment's env file (relative to the params file)")
    rules: list[Rule] = Field(default_factory=list, description="checks on the env file's values")

    @field_validator("rules", mode="wrap")
    @classmethod
    def _readable_rules(cls, value: Any, handler: Any) -> Any:
        """Validate the rules, reporting errors at the key path the user wrote.

        pydantic puts the chosen union member (``equals``) into error locations, giving
        ``rules[0].equals.value`` for a key the user wrote as ``rules[0].value``, and it
        prefixes validator messages with "Value error, ". Both are removed here.
        """
        try:
            rules = handler(value)
        except ValidationError as exc:
            details: list[Any] = []
            for error in exc.errors(include_url=False):
                loc = _without_kind_tags(tuple(error["loc"]))
                message = error["msg"].removeprefix("Value error, ")
                kinds = [k for k in RULE_KINDS if not (loc and loc[-1] == "then" and k == "conditional")]
                if error["type"] == "union_tag_not_found":
                    message = "missing 'kind': one of " + ", ".join(kinds)
                elif error["type"] == "union_tag_invalid":
                    message = "unknown rule kind; known kinds here: " + ", ".join(kinds)
                details.append(
                    {"type": PydanticCustomError(error["type"], message), "loc": loc, "input": error.get("input")}
                )
            raise ValidationError.from_exception_data(exc.title, details) from None
        _check_distinct(rules)
        return rules


def _check_distinct(rules: Sequence[KeyedRule | ConditionalRule]) -> None:
    """Two rules must not produce the same (check id, key): history and waivers key on it."""
    seen: dict[tuple[str, str], int] = {}
    for index, rule in enumerate(rules):
        check_id = effective(rule).check_id
        for key in rule.targets:
            first = seen.setdefault((check_id, key), index)
            if first != index:
                raise PydanticCustomError(
                    "duplicate_rule",
                    "rules[{first}] and rules[{index}] both check {key} as {check_id}; "
                    "give one of them a distinct 'id'",
                    {"first": first, "index": index, "key": key, "check_id": check_id},
                )


def _without_kind_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    out: list[Any] = []
    for part in loc:
        previous = out[-1] if out else None
        if part in RULE_KINDS and (isinstance(previous, int) or previous == "then"):
            continue
        out.append(part)
    return tuple(out)


# --------------------------------------------------------------------------- running


def run(env: Environment) -> list[Finding]:
    """The config area's findings for one environment (the notebook calls this)."""
    return check_config(env.config)


def check_config(params: ConfigParams) -> list[Finding]:
    """Load the configured env file and evaluate the rules; missing input is a finding, not a crash."""
    if params.env_file is None:
        return [
            finding(
                "config.env_file",
                Status.SKIP,
                "(no env file configured)",
                "config.env_file is not set in this environment's params",
                title="Env file is configured for the preflight",
                expected="config.env_file names the env file the deployment uses",
                severity=Severity.INFO,
                severity_reason="not configured: nothing was read, informational",
            )
        ]
    path = Path(params.env_file)
    try:
        env_file = load_env_file(path)
    except HardenError as exc:
        return [finding("config.env_file", Status.ERROR, path.name, str(exc))]
    return evaluate_rules(env_file, params.rules)


def evaluate_rules(env_file: EnvFile, rules: Sequence[KeyedRule | ConditionalRule]) -> list[Finding]:
    """Findings for an already loaded env file: the file itself, its syntax, then each rule."""
    secret_keys = _secret_keys(env_file, rules)
    for key in secret_keys:  # e.g. a hex_key rule on an innocently named key
        value = env_file.get(key)
        if value and not is_well_known_value(value):
            register_secret(value)
    findings = [_file_finding(env_file), *_syntax_findings(env_file)]
    if not rules:
        findings.append(
            finding(
                "config.rules",
                Status.WARN,
                env_file.name,
                "no rules in config.rules: the env file was read but nothing was checked",
            )
        )
    for rule in rules:
        meta = effective(rule)
        _KIND_BY_ID[meta.check_id] = meta.kind
        for key in rule.targets:
            try:
                findings.append(_evaluate(rule, key, env_file, secret_keys))
            except Exception:  # a rule that cannot run is an error finding, never a crash
                findings.append(
                    _rule_finding(
                        meta,
                        key,
                        Status.ERROR,
                        f"{env_file.name}:{key}",
                        "the check could not run (an internal error of the rule's kind)",
                        remediation="Report this to the harden maintainers with the rule (not the env file).",
                    )
                )
    return findings


def _rule_finding(
    meta: Effective, key: str, status: Status, target: str, observed: str, remediation: str | None = None
) -> Finding:
    """One rule's finding on one key: a member of the ``config.*`` family.

    The title, severity, expectation, remediation and references are the rule's own (params
    or the defaults of its kind), not the family's. They may quote the env file's keys and
    the params' values, so they are scrubbed like ``observed`` (registered secrets, URL
    credentials).
    """
    return finding(
        meta.check_id,
        status,
        target,
        observed,
        title=scrub_output(meta.title(key)),
        expected=scrub_output(meta.inner.expectation()),
        severity=meta.severity,
        severity_reason=meta.severity_reason,
        remediation=scrub_output(remediation or meta.remediation(key)),
        references=tuple(scrub_output(r) for r in meta.references),
    )


def _evaluate(rule: KeyedRule | ConditionalRule, key: str, env_file: EnvFile, secret_keys: set[str]) -> Finding:
    meta = effective(rule)
    inner = meta.inner
    show = Shown(secret=key in secret_keys)
    value = env_file.get(key)
    prefix = ""
    where = f" (line {env_file.lines[key]})" if key in env_file.lines else ""

    def outcome(status: Status, observed: str) -> Finding:
        target = f"{env_file.name}:{key}"
        return _rule_finding(meta, key, status, target, prefix + observed + ("" if status is Status.SKIP else where))

    failed = Status(meta.fail_status)
    if isinstance(rule, ConditionalRule):
        condition = rule.if_
        shown_condition = Shown(secret=condition.key in secret_keys)(env_file.get(condition.key))
        if not condition.holds(env_file):
            return outcome(Status.SKIP, f"not applicable: {condition.key} is {shown_condition}")
        prefix = f"{condition.key} is {shown_condition}, so: "
    if not value:
        optional = getattr(inner, "optional", False) and not isinstance(rule, ConditionalRule)
        what = "absent" if value is None else "present but empty"
        if key in env_file and value is None:
            what = "written without '=' (no value)"
        return outcome(Status.SKIP if optional else failed, what)
    judged = inner.check(value, show)
    status = {"pass": Status.PASS, "skip": Status.SKIP, "fail": failed}[judged.status]
    return outcome(status, judged.observed)


def _secret_keys(env_file: EnvFile, rules: Sequence[KeyedRule | ConditionalRule]) -> set[str]:
    """Keys whose values are shown by shape only: secret by name, by shape, or by rule kind."""
    keys = {k for k, v in env_file.values.items() if is_secret_key(k) or (v and looks_like_secret(v))}
    for rule in rules:
        inner = rule.then if isinstance(rule, ConditionalRule) else rule
        if inner.kind in SECRET_KINDS:  # type: ignore[attr-defined]
            keys.update(rule.targets)
    return keys


def _file_finding(env_file: EnvFile) -> Finding:
    parts = [f"{len(env_file)} keys read"]
    if env_file.problems:
        parts.append(f"{len(env_file.problems)} line(s) with syntax problems")
    if env_file.duplicates:
        parts.append(f"{len(env_file.duplicates)} key(s) defined more than once")
    return finding(
        "config.env_file",
        Status.PASS,
        env_file.name,
        "; ".join(parts),
        severity=Severity.INFO,
        severity_reason="the file was read: informational",
    )


def _syntax_findings(env_file: EnvFile) -> list[Finding]:
    out = [
        finding(
            "config.env_file.syntax",
            Status.WARN,
            f"{env_file.name}:{problem.line}",
            f"line {problem.line}: {problem.message}",
            title=f"Line {problem.line} of {env_file.name} is a valid KEY=VALUE statement",
            remediation=(
                f"Fix line {problem.line} of {env_file.name}: the app does not see the setting written there, "
                "so it runs with a default the operator did not choose."
            ),
        )
        for problem in env_file.problems
    ]
    out.extend(
        finding(
            "config.env_file.duplicate_key",
            Status.WARN,
            f"{env_file.name}:{key}",
            f"defined on lines {', '.join(map(str, lines))}; the last one (line {lines[-1]}) wins",
            # a pasted token on its own line parses as a key: scrubbed like every other text
            title=scrub_output(f"{key} is defined once"),
            remediation=scrub_output(
                f"Remove the extra definitions of {key} so that reviewers read the value the app uses."
            ),
        )
        for key, lines in env_file.duplicates.items()
    )
    return out


# --------------------------------------------------------------------------- evidence

#: check id -> rule kind, recorded by ``evaluate_rules`` so a chart can group findings by kind.
_KIND_BY_ID: dict[str, str] = {}
_FALSY = frozenset({"0", "false", "no", "n", "off", "f", "disabled", "disable"})


def env_inventory(env_file: EnvFile, rules: Sequence[KeyedRule | ConditionalRule] = ()) -> pd.DataFrame:
    """Every key of the env file (and every key a rule names but the file lacks), for auditors.

    Columns: ``key``, ``line``, ``kind`` (secret / url / flag / other / absent), ``shown`` (the
    value as it may be shown: secrets by shape only, URLs without passwords) and ``rules`` (the
    check ids covering the key; pass ``rules=env.config.rules`` to fill it).
    """
    import pandas as pd

    secret_keys = _secret_keys(env_file, rules)
    covering: dict[str, list[str]] = {}
    for rule in rules:
        check_id = effective(rule).check_id
        keys = list(rule.targets)
        if isinstance(rule, ConditionalRule):
            keys.append(rule.if_.key)
        for key in keys:
            ids = covering.setdefault(key, [])
            if check_id not in ids:
                ids.append(check_id)

    rows = []
    for key in [*env_file.values, *(k for k in covering if k not in env_file)]:
        value = env_file.get(key)
        secret = key in secret_keys
        rows.append(
            {
                "key": scrub_output(key),  # a token pasted on its own line parses as a key
                "line": env_file.lines.get(key),
                "kind": "absent" if key not in env_file else _value_kind(value, secret),
                "shown": Shown(secret=secret)(value) if key in env_file else "absent",
                "rules": ", ".join(covering.get(key, [])),
            }
        )
    frame = pd.DataFrame(rows, columns=["key", "line", "kind", "shown", "rules"])
    frame["line"] = frame["line"].astype("Int64")
    return frame


def _value_kind(value: str | None, secret: bool) -> str:
    if secret:
        return "secret"
    if not value:
        return "other"
    if is_truthy(value) or value.strip().lower() in _FALSY:
        return "flag"
    items = split_list(value)
    if items and all(parse_endpoint(i).scheme for i in items) and any(":" in i for i in items):
        return "url"
    return "other"


def rule_kind(check_id: str) -> str:
    """The rule kind behind a check id (``env file`` for the file's own checks)."""
    if check_id.startswith(("config.env_file", "config.rules")):
        return "env file"
    if check_id in _KIND_BY_ID:
        return _KIND_BY_ID[check_id]
    name = check_id.split(".")[1] if check_id.count(".") >= 1 else check_id
    return name if name in RULE_KINDS else check_id


def plot_rule_outcomes(findings: Iterable[Finding], title: str = "Configuration outcomes by rule kind") -> Figure:
    """Horizontal stacked bars: one per rule kind, segments per status in the report's colours.

    Built on ``matplotlib.figure.Figure`` (via ``render.figure``): no pyplot state, no backend.
    """
    from harden_lib.render import plot_stacked_status

    counts: dict[str, dict[str, int]] = {}
    for item in findings:
        bucket = counts.setdefault(rule_kind(item.check_id), {})
        bucket[item.status.value] = bucket.get(item.status.value, 0) + 1
    return plot_stacked_status(counts, title)


AREA = AreaSpec(
    name="config",
    title="Configuration preflight",
    purpose="The deployment's env file: secrets strong, URLs safe, debug switches off.",
    params=ConfigParams,
    order=10,
)
