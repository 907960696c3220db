"""The finding model, its table form, JSON round trip and the gate."""

from __future__ import annotations

import json

import pytest

from harden_lib import (
    COLUMNS,
    Finding,
    HardenError,
    Severity,
    Status,
    findings_frame,
    gate,
    load_findings,
    save_findings,
)
from harden_lib.findings import (
    SEVERITY_CATEGORIES,
    STATUS_CATEGORIES,
    STATUS_ORDER,
    ordered_categories,
    worst_first,
)


def make(check_id: str = "a.b", status: Status = Status.FAIL, severity: Severity = Severity.HIGH, **kw) -> Finding:
    return Finding(area="a", check_id=check_id, title="t", status=status, severity=severity, **kw)


def test_frame_has_fixed_column_order_and_sorts_worst_first():
    frame = findings_frame([make("x", Status.PASS, Severity.LOW), make("y", Status.FAIL, Severity.CRITICAL)])
    assert tuple(frame.columns) == COLUMNS
    ordered = frame.sort_values(["status", "severity"], ascending=False)
    assert list(ordered["check_id"]) == ["y", "x"]
    assert list(worst_first(frame)["check_id"]) == ["y", "x"]


EVERY = [(st, sev) for st in Status for sev in Severity]


def _every_frame():
    return findings_frame([make(f"{st.value}.{sev.value}", st, sev) for st, sev in EVERY])


@pytest.mark.parametrize("threshold", list(Severity))
def test_severity_comparisons_mean_as_severe_or_worse(threshold):
    """issue 14: ``frame.severity >= "high"`` is high and critical, never medium, low or info."""
    frame = _every_frame()
    picked = set(frame[frame.severity >= threshold.value]["severity"].astype(str))
    assert picked == {s.value for s in Severity if s.rank >= threshold.rank}
    below = set(frame[frame.severity < threshold.value]["severity"].astype(str))
    assert below == {s.value for s in Severity if s.rank < threshold.rank}


def test_status_comparisons_follow_the_report_order():
    """``status >= "warn"`` is warn or worse (warn, error, fail): worse is greater, as for severity."""
    frame = _every_frame()
    picked = set(frame[frame.status >= "warn"]["status"].astype(str))
    assert picked == {"warn", "error", "fail"}
    assert frame.status.max() == "fail" and frame.severity.max() == "critical"
    assert list(frame.status.cat.categories) == [s.value for s in reversed(STATUS_ORDER)]
    assert list(frame.severity.cat.categories) == ["info", "low", "medium", "high", "critical"]


def test_sorting_follows_the_model():
    frame = _every_frame().sample(frac=1, random_state=7)  # shuffled
    ordered = worst_first(frame)
    pairs = zip(ordered.status, ordered.severity, strict=True)
    ranks = [(STATUS_ORDER.index(Status(st)), -Severity(sev).rank) for st, sev in pairs]
    assert ranks == sorted(ranks)
    ascending = frame.sort_values("severity")["severity"].astype(str).tolist()
    assert ascending[0] == "info" and ascending[-1] == "critical"


def test_ordered_categories_leave_foreign_values_alone():
    """A column with values outside the model ("never", "not covered") stays text, nothing becomes NaN."""
    import pandas as pd

    frame = ordered_categories(pd.DataFrame({"status": ["pass", "not covered"], "severity": ["high", None]}))
    assert frame.status.tolist() == ["pass", "not covered"]
    assert isinstance(frame.severity.dtype, pd.CategoricalDtype) and frame.severity.cat.ordered
    assert frame.severity.isna().tolist() == [False, True]
    empty = findings_frame([])
    assert empty.severity.cat.ordered and empty.status.cat.ordered


def test_empty_frame_keeps_columns():
    assert tuple(findings_frame([]).columns) == COLUMNS


def test_json_round_trip(tmp_path):
    findings = [make(references=("OWASP A05",), observed="é <script>")]
    path = save_findings(findings, tmp_path, "a")
    assert path == tmp_path / "findings" / "a.json"
    assert load_findings(path) == findings
    assert json.loads(path.read_text())["schema"] == 1


def test_load_damaged_file_names_file_and_field(tmp_path):
    path = tmp_path / "bad.json"
    bad = {"area": "a", "check_id": "x", "title": "t", "status": "maybe", "severity": "high"}
    path.write_text(json.dumps({"findings": [bad]}))
    with pytest.raises(HardenError, match=r"bad\.json: findings\[0\]\.status"):
        load_findings(path)
    path.write_text("{not json")
    with pytest.raises(HardenError, match="not valid JSON"):
        load_findings(path)


def test_long_fields_are_capped():
    finding = make(observed="x" * 10_000)
    assert len(finding.observed) == 2000


@pytest.mark.parametrize(
    ("status", "severity", "fail_on", "go"),
    [
        (Status.FAIL, Severity.HIGH, "high", False),
        (Status.FAIL, Severity.MEDIUM, "high", True),
        (Status.FAIL, Severity.MEDIUM, "medium", False),
        (Status.ERROR, Severity.CRITICAL, "high", False),
        (Status.ERROR, Severity.LOW, "high", True),
        (Status.WAIVED, Severity.CRITICAL, "high", True),
        (Status.WARN, Severity.CRITICAL, "info", True),
        (Status.MANUAL, Severity.CRITICAL, "high", True),
    ],
)
def test_gate(status, severity, fail_on, go):
    result = gate([make(status=status, severity=severity), make("ok", Status.PASS)], fail_on)
    assert result.go is go
    assert result.verdict == ("GO" if go else "NO-GO")
    assert len(result.blocking) == (0 if go else 1)


def test_gate_reason_counts_fails_and_errors():
    result = gate([make(status=Status.FAIL), make("e", Status.ERROR, Severity.CRITICAL)])
    assert result.reason == "1 failing check and 1 check that could not run at or above severity 'high'."
    assert [f.check_id for f in result.blocking] == ["e", "a.b"]


def test_what_to_fix_is_sorted_by_severity_then_status_and_keeps_the_model_order():
    from harden_lib.render import fixes_frame

    fixes = fixes_frame(_every_frame().sample(frac=1, random_state=3))
    assert set(fixes.status.astype(str)) == {"fail", "error", "warn"}
    keys = [
        (-Severity(sev).rank, STATUS_ORDER.index(Status(st)))
        for sev, st in zip(fixes.severity, fixes.status, strict=True)
    ]
    assert keys == sorted(keys), "worst severity first, then fail before error before warn"
    assert set(fixes[fixes.severity >= "high"]["severity"].astype(str)) == {"high", "critical"}


def _changes():
    from harden_lib.diff import Change

    return [
        Change(f"c.{i}", "headers", f"headers.c{i}", "t", "x", sev, st, old_status="pass")
        for i, (sev, st) in enumerate([("low", "fail"), ("critical", "fail"), ("high", "error"), ("medium", "warn")])
    ]


def test_every_library_frame_has_ordered_severity_and_status():
    """Frames the library returns (summary, governance, render, diff, trends, commands): ``>= "high"`` is
    high or worse wherever a severity column holds the model's values, ``>= "warn"`` warn or worse."""
    import pandas as pd

    from harden_lib import summary
    from harden_lib.catalog import catalog_frame
    from harden_lib.checks.commands import CommandResult, CommandsAudit
    from harden_lib.diff import RunDiff
    from harden_lib.environment import Environment
    from harden_lib.history import trends
    from harden_lib.render import fixes_frame

    env = Environment.model_validate({"environment": "t"})
    per_area = {"a": [make(f"a.{st.value}.{sev.value}", st, sev) for st, sev in EVERY]}
    diff = RunDiff("t", None, None, new_failures=_changes())
    history = pd.DataFrame(
        [
            {
                "environment": "t",
                "run_id": r,
                "started": pd.Timestamp(day, tz="UTC"),
                "finding_id": f"f{i}",
                "area": "a",
                "check_id": f"a.c{i}",
                "title": "t",
                "target": "x",
                "severity": sev,
                "status": "fail",
                "blocking": True,
            }
            for r, day in (("r1", "2026-01-01"), ("r2", "2026-01-05"))
            for i, sev in enumerate(["low", "critical", "high", "info"])
        ]
    )
    audit = CommandsAudit(
        findings=[make("commands.run", st) for st in (Status.PASS, Status.FAIL)],
        results=[CommandResult("ok", "true", 0, 0.1), CommandResult("bad", "false", 1, 0.1)],
    )
    frames = {
        "findings_frame": findings_frame(per_area["a"]),
        "summary.top_failures": summary.top_failures(per_area),
        "summary.blockers": summary.blockers(env, per_area),
        "summary.other_failures": summary.other_failures(env, per_area),
        "summary.errors": summary.errors(per_area),
        "render.fixes_frame": fixes_frame(per_area["a"]),
        "diff.frame": diff.frame("new_failures"),
        "trends.oldest_open": trends.oldest_open(history),
        "commands.table": audit.table(),
        "catalog.catalog_frame": catalog_frame("headers"),
    }
    for name, frame in frames.items():
        assert len(frame), name
        for column, categories in (("severity", SEVERITY_CATEGORIES), ("status", STATUS_CATEGORIES)):
            if column not in frame.columns:
                continue
            dtype = frame[column].dtype
            assert isinstance(dtype, pd.CategoricalDtype) and dtype.ordered, (name, column)
            assert tuple(dtype.categories) == categories, (name, column)
        if "severity" in frame.columns:
            picked = set(frame[frame.severity >= "high"]["severity"].astype(str))
            assert picked == set(frame.severity.astype(str)) & {"high", "critical"}, name
    assert frames["trends.oldest_open"]["severity"].astype(str).tolist()[:2] == ["critical", "high"]
