"""Learner copies: generated from the solutions, placeholders in, answers out, in sync."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course.instructor import authoring


def test_committed_learner_copies_are_up_to_date() -> None:
    stale = authoring.build(check=True)
    assert not stale, f"run `make notebooks`: out of date: {[p.name for p in stale]}"


def test_solution_regions_become_placeholders() -> None:
    nb = new_notebook(cells=[
        new_markdown_cell("### Exercise 3.2 · Something\n"
                          "<!-- BEGIN SOLUTION -->why<!-- END SOLUTION -->"),
        new_code_cell("%%save src/x.py\ndef f():\n    ### BEGIN SOLUTION\n    return 42\n"
                      "    ### END SOLUTION\n"),
        new_code_cell('check("3.2")'),
        new_code_cell("print(1)"),
    ])
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="secret 42")]
    copy = authoring.learner_copy(nb)
    assert "why" not in copy.cells[0].source
    assert copy.cells[1].source == ('%%save src/x.py\ndef f():\n    raise NotImplementedError('
                                    '"Exercise 3.2: write your code here")\n')
    assert copy.cells[1].outputs == []
    assert "raises-exception" in copy.cells[1].metadata.tags
    assert "raises-exception" in copy.cells[2].metadata.tags
    assert "tags" not in copy.cells[3].metadata


def test_no_solution_text_in_any_learner_copy() -> None:
    for solution in sorted(authoring.SOLUTIONS.glob("*.ipynb")):
        copy = (authoring.NOTEBOOKS / solution.name).read_text()
        assert "BEGIN SOLUTION" not in copy and "END SOLUTION" not in copy
        assert '"outputs": []' in copy


def test_a_continuing_cell_loads_the_learners_own_file() -> None:
    nb = new_notebook(cells=[
        new_markdown_cell("### Exercise 2.2 · More"),
        new_code_cell("%%save src/x.py\nimport os\n\ndef f():\n    return 41\n"
                      "### BEGIN SOLUTION\ndef g():\n    return 42\n### END SOLUTION\n",
                      metadata={"tags": ["continue-file"]}),
    ])
    cell = authoring.learner_copy(nb).cells[1]
    assert cell.source.endswith("%load_saved src/x.py\n")
    assert "Exercise 2.2" in cell.source
    assert "return 41" not in cell.source and "return 42" not in cell.source
    assert {"exercise", "raises-exception"} <= set(cell.metadata.tags)
