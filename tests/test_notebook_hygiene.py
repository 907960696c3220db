"""Committed notebooks carry no outputs, declare the runner's parameters, and stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import papermill
import pytest

from harden_lib.areas import AREAS, SUMMARY
from harden_lib.runner import NOTEBOOK_PARAMETERS

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_every_area_and_the_summary_has_a_notebook():
    assert {p.stem for p in NOTEBOOKS} == {*AREAS, SUMMARY, "trends", "drift"}  # trends/drift: issue 13


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_outputs_and_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: committed with outputs"
            assert cell.execution_count is None, f"{path.name}: committed with execution counts"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    declared = papermill.inspect_notebook(str(path))
    assert set(NOTEBOOK_PARAMETERS) <= set(declared)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_thin(path):
    """No check logic in notebooks: no function or class definitions, no loops over findings."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)]
        assert not defs, f"{path.name}: logic belongs in harden_lib"
        assert len(cell.source.splitlines()) <= 12
