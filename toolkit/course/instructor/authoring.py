"""Generate the learner copies in notebooks/ from the solution notebooks in solutions/.

    python -m course.instructor.authoring           # write notebooks/ (`make notebooks`)
    python -m course.instructor.authoring --check   # exit 1 when a committed copy is stale

In a solution notebook, code between `### BEGIN SOLUTION` and `### END SOLUTION` becomes
`raise NotImplementedError("Exercise N.M: ...")` (N.M from the nearest "Exercise N.M"
heading above), markdown between `<!-- BEGIN SOLUTION -->` and `<!-- END SOLUTION -->`
is dropped, outputs are cleared. A `%%save` cell tagged `continue-file` (an exercise that
changes a file an earlier exercise wrote) becomes a `%load_saved PATH` cell: the learner
starts from their own file, so the learner copy never restates an earlier answer. Cells
expected to fail in the learner copy (exercise cells, `check(...)` cells, cells tagged
`learner-fails`) get nbval's `raises-exception` tag.
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat

from course.checks.nbval_plugin import is_check_cell
from course.workspace import course_home

COURSE_ROOT = course_home()
SOLUTIONS = COURSE_ROOT / "solutions"
NOTEBOOKS = COURSE_ROOT / "notebooks"
CODE_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[ \t]*\n.*?^[ \t]*### END SOLUTION[ \t]*\n?",
                         re.M | re.S)
MARKDOWN_REGION = re.compile(r"<!-- BEGIN SOLUTION -->.*?<!-- END SOLUTION -->\n?", re.S)
EXERCISE_HEADING = re.compile(r"^#+ .*?Exercise (\d+\.\d+)", re.M)


def _placeholder(exercise_id: str | None) -> Callable[[re.Match[str]], str]:
    label = f"Exercise {exercise_id}" if exercise_id else "Exercise"

    def replace(match: re.Match[str]) -> str:
        return f'{match.group(1)}raise NotImplementedError("{label}: write your code here")\n'

    return replace


def _loader(exercise_id: str | None, path: str) -> str:
    label = f"Exercise {exercise_id}" if exercise_id else "This exercise"
    return (f"# {label} changes your {path}\n"
            "# from an earlier exercise. Run this cell: it loads your file here, as a %%save\n"
            "# cell. Then change it as described above and run the cell again to save it.\n"
            f"%load_saved {path}\n")


def learner_copy(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(solution)
    exercise_id = None
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            headings = EXERCISE_HEADING.findall(cell.source)
            exercise_id = headings[-1] if headings else exercise_id
            cell.source = MARKDOWN_REGION.sub("", cell.source)
            continue
        if cell.cell_type != "code":
            continue
        first = cell.source.partition("\n")[0]
        if "continue-file" in tags and first.startswith("%%save "):
            new_source = _loader(exercise_id, first.split(maxsplit=1)[1].strip())
        else:
            new_source = CODE_REGION.sub(_placeholder(exercise_id), cell.source)
        if new_source != cell.source:
            tags |= {"exercise", "raises-exception"}
        if is_check_cell(cell) or "learner-fails" in tags:
            tags.add("raises-exception")
        cell.source = new_source
        cell.outputs = []
        cell.execution_count = None
        if tags:
            cell.metadata["tags"] = sorted(tags)
    return nb


def render(path: Path) -> str:
    return nbformat.writes(learner_copy(nbformat.read(path, as_version=4))) + "\n"


def build(check: bool = False) -> list[Path]:
    """Write (or with check=True, compare) every learner copy; returns the stale ones."""
    stale = []
    for solution in sorted(SOLUTIONS.glob("*.ipynb")):
        target = NOTEBOOKS / solution.name
        text = render(solution)
        if not target.exists() or target.read_text() != text:
            stale.append(target)
            if not check:
                target.parent.mkdir(exist_ok=True)
                target.write_text(text)
    names = {p.name for p in SOLUTIONS.glob("*.ipynb")}
    extra = {p.name for p in NOTEBOOKS.glob("*.ipynb")} - names
    stale += [NOTEBOOKS / name for name in sorted(extra)]
    return stale


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = build(check=check)
    for path in stale:
        print(("out of date: " if check else "wrote ") + str(path.relative_to(COURSE_ROOT)))
    if check and stale:
        print("Run `make notebooks` to regenerate the learner copies.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
