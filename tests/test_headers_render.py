"""Headers evidence for many pages: one table and one chart instead of a chart per page (issue 12)."""

from __future__ import annotations

from harden_lib.checks import headers
from harden_lib.checks.headers import MAX_SCORE_BARS
from harden_lib.checks.headers.observatory import TESTS, score_results
from harden_lib.render import figure_png
from tests.test_observatory import PERFECT


def _scores(count: int) -> dict:
    weak = {**PERFECT, "content-security-policy": "csp-implemented-with-unsafe-inline"}
    return {
        f"https://site-{i}.example/page?access_token=tok-{i}-secretvalue": score_results(PERFECT if i % 2 else weak)
        for i in range(count)
    }


def test_scores_frame_has_one_row_per_page_and_a_column_per_test():
    scores = _scores(5)
    frame = headers.scores_frame(scores)
    assert len(frame) == 5
    assert set(TESTS) <= set(frame.columns)
    assert set(frame["grade"]) == {"A+", frame.loc[0, "grade"]} and frame.loc[0, "score"] < frame.loc[1, "score"]
    assert frame.loc[0, "content-security-policy"] == -20
    assert not frame["page"].str.contains("secretvalue").any(), "credentials in URLs are redacted"


def test_one_score_chart_for_many_pages_is_capped():
    scores = _scores(MAX_SCORE_BARS + 20)
    assert figure_png(headers.plot_scores(scores)).startswith(b"\x89PNG")
    fig = headers.plot_scores(scores)
    title = fig.axes[0].get_title()
    assert f"lowest {MAX_SCORE_BARS} of {MAX_SCORE_BARS + 20}" in title
    assert len(fig.axes[0].patches) == MAX_SCORE_BARS
    labels = " ".join(t.get_text() for t in fig.axes[0].get_yticklabels())
    assert "secretvalue" not in labels


def test_no_page_gives_an_explicit_empty_chart():
    fig = headers.plot_scores({})
    assert "no page could be scored" in " ".join(t.get_text() for t in fig.axes[0].texts)
