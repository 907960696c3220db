"""The page's Mozilla HTTP Observatory grade against the environment's ``headers.min_grade``."""

from __future__ import annotations

from harden_lib.catalog import finding, lookup
from harden_lib.checks.headers.observatory import ObservatoryScore, grade_rank
from harden_lib.checks.headers.rules.common import shown
from harden_lib.findings import Finding, Status


def grade_finding(target: str, score: ObservatoryScore, min_grade: str) -> Finding:
    """The grade against ``min_grade``; an untested test may not decide it.

    An untested test counts 0 in ``score`` (the best case for the redirect). When the worst
    case (``score.worst_case()``) also meets the target the verdict holds either way; when
    only the best case does, the grade could not be established: ``error``, not ``pass``.
    The remediation names the largest penalties of this page, which is what to fix first.
    """
    worst = score.worst_case()
    ok = grade_rank(score.grade) >= grade_rank(min_grade)
    ok_worst = grade_rank(worst.grade) >= grade_rank(min_grade)
    negatives = sorted((o for o in score.outcomes if o.modifier < 0), key=lambda o: o.modifier)
    remediation: str | None = None
    if negatives:
        remediation = "Largest penalties first: " + "; ".join(
            f"{o.title} ({o.modifier:+d}: {o.description})" for o in negatives[:4]
        )
    status = Status.PASS if ok else Status.FAIL
    observed = score.summary()
    if ok and not ok_worst:
        status = Status.ERROR
        observed = (
            f"Grade undetermined: {score.grade} if the untested test(s) pass, {worst.grade} if they fail — " + observed
        )
        remediation = "Make the plain-HTTP address probe-able (or fix the probe's error) and run again. " + (
            remediation or lookup("headers.observatory.grade").remediation
        )
    elif ok and score.untested:
        observed += f" — grade {min_grade} or better even at worst"
    return finding(
        "headers.observatory.grade",
        status,
        target,
        shown(observed, 700),
        expected=f"grade {min_grade} or better (Mozilla HTTP Observatory, scoring algorithm v4)",
        remediation=remediation,
    )
