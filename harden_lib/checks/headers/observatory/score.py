"""Test outcomes, the score and the grade (``src/scanner/index.js``, ``src/grader/grader.js``).

Start at 100 and add every test's modifier; bonuses count only when 100 plus the penalties
alone is at least 90; never below 0; the grade is the chart entry of the score rounded down
to a multiple of 5 (capped at 100).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harden_lib.checks.headers.observatory.tables import (
    GRADE_CHART,
    GRADES,
    MINIMUM_SCORE_FOR_EXTRA_CREDIT,
    NOT_TESTED,
    NOT_TESTED_DESCRIPTION,
    PASSING,
    SCORE_TABLE,
    TESTS,
    WORST_RESULT,
)


@dataclass(frozen=True)
class TestOutcome:
    """One Observatory test's result, its modifier and whether the Observatory calls it passed."""

    __test__ = False  # not a pytest test class, despite the name

    test: str
    result: str
    modifier: int
    description: str
    passed: bool
    detail: str = ""

    @property
    def title(self) -> str:
        return TESTS.get(self.test, self.test)


@dataclass(frozen=True)
class ObservatoryScore:
    """The score and grade with every test's outcome (``tests`` gives the plain tuples)."""

    score: int
    grade: str
    outcomes: tuple[TestOutcome, ...]
    #: 100 plus the penalties only (decides whether bonuses count).
    uncurved: int
    #: 100 plus every modifier.
    with_extra_credit: int
    url: str = ""

    @property
    def tests(self) -> list[tuple[str, str, int, str]]:
        """``(test, result, modifier, description)`` per test, in the Observatory's order."""
        return [(o.test, o.result, o.modifier, o.description) for o in self.outcomes]

    @property
    def bonus_applied(self) -> bool:
        return self.uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT

    @property
    def tests_passed(self) -> int:
        return sum(1 for o in self.outcomes if o.passed)

    def outcome(self, test: str) -> TestOutcome:
        for o in self.outcomes:
            if o.test == test:
                return o
        raise KeyError(test)

    @property
    def untested(self) -> list[TestOutcome]:
        """Tests that could not be run (result ``not-tested``, modifier 0, never passed)."""
        return [o for o in self.outcomes if o.result == NOT_TESTED]

    def worst_case(self) -> ObservatoryScore:
        """This score with every untested test at its worst result (itself when all ran).

        ``score``/``grade`` count an untested test as 0, which is its best case for the
        redirection test; the worst case says whether the grade depends on what was not seen.
        """
        if not self.untested:
            return self
        outcomes = [
            outcome_for(WORST_RESULT[o.test], False, o.detail)
            if o.result == NOT_TESTED and o.test in WORST_RESULT
            else o
            for o in self.outcomes
        ]
        return score_outcomes(outcomes, self.url)

    def summary(self) -> str:
        penalties = ", ".join(f"{o.test} {o.modifier:+d}" for o in self.outcomes if o.modifier)
        bonus = "" if self.bonus_applied else " (bonuses not counted: penalties took the score below 90)"
        text = f"score {self.score}, grade {self.grade}{bonus}; modifiers: {penalties or 'none'}"
        if self.untested:
            worst = self.worst_case()
            notes = "; ".join(f"{o.test}" + (f" ({o.detail})" if o.detail else "") for o in self.untested)
            text += f"; not tested, counted as 0: {notes}"
            if (worst.score, worst.grade) != (self.score, self.grade):
                text += f"; at worst score {worst.score}, grade {worst.grade}"
        return text


def grade_for_score(score: int) -> str:
    """``getGradeAndLikelihoodForScore`` of src/grader/grader.js."""
    score = max(score, 0)
    return GRADE_CHART[min(score - score % 5, 100)]


def grade_rank(grade: str) -> int:
    """Higher is better, so ``grade_rank(a) >= grade_rank(b)`` reads "a is at least b"."""
    return len(GRADES) - GRADES.index(grade)


def score_outcomes(outcomes: Sequence[TestOutcome], url: str = "") -> ObservatoryScore:
    """The scoring of src/scanner/index.js over already-decided test outcomes."""
    with_extra_credit = 100
    uncurved = 100
    for outcome in outcomes:
        with_extra_credit += outcome.modifier
        if outcome.modifier < 0:
            uncurved += outcome.modifier
    # "Only record the full score if the uncurved score already receives an A"
    score = with_extra_credit if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved
    score = max(score, 0)
    return ObservatoryScore(score, grade_for_score(score), tuple(outcomes), uncurved, with_extra_credit, url)


def outcome_for(result: str, passed: bool | None = None, detail: str = "", test: str | None = None) -> TestOutcome:
    """A ``TestOutcome`` for a result name, with its modifier from ``SCORE_TABLE``."""
    if result == NOT_TESTED:
        if test is None:
            raise ValueError("not-tested needs the test name")
        # The reason goes into the description, so tables that show only descriptions say why.
        description = f"Not tested: {detail[:300]}" if detail else NOT_TESTED_DESCRIPTION.get(test, "Not tested")
        return TestOutcome(test, result, 0, description, False, detail)
    try:
        owner, modifier, description = SCORE_TABLE[result]
    except KeyError:
        raise ValueError(f"unknown Observatory result {result!r}") from None
    if test is not None and test != owner:
        raise ValueError(f"result {result!r} belongs to test {owner!r}, not {test!r}")
    if passed is None:
        passed = PASSING.get(result, False)
    return TestOutcome(owner, result, modifier, description, passed, detail)


def score_results(results: Mapping[str, str] | Sequence[str], url: str = "") -> ObservatoryScore:
    """Score a set of result names (test → result, or just the result names).

    Useful for what-if questions ("what would CSP without 'unsafe-inline' give?") and for
    checking the arithmetic against the published chart.
    """
    if isinstance(results, Mapping):
        outcomes = [outcome_for(name, test=test) for test, name in results.items()]
    else:
        outcomes = [outcome_for(name) for name in results]
    return score_outcomes(outcomes, url)


def only_if_worse(new: str, old: str | None, order: Sequence[str]) -> str:
    """``onlyIfWorse`` of src/analyzer/utils.js."""
    if not old:
        return new
    return new if order.index(new) > (order.index(old) if old in order else -1) else old
