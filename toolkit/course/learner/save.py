"""`%%save PATH`: write the cell as a file of the learner's project.

Saving keeps the previous version under `.course/history/` (nothing is ever lost),
drops the kernel's cached copy of the module, and complains loudly about a syntax
error or an exercise that still holds its placeholder.
"""

from __future__ import annotations

import importlib
import re
import sys
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from course import workspace

MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
PLACEHOLDER = re.compile(r'NotImplementedError\("(Exercise \d+\.\d+[^"]*)"\)')


class SaveError(ValueError):
    pass


class _OneLine:
    """IPython shows these as one red line, not a traceback through the toolkit."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class ExerciseNotFinished(_OneLine, NotImplementedError):
    pass


class SavedWithSyntaxError(_OneLine, SyntaxError):
    pass


def target(relative: str, project: Path | None = None) -> Path:
    root = workspace.root(project)
    rel = PurePosixPath(relative.strip())
    if not relative.strip() or rel.is_absolute() or ".." in rel.parts:
        raise SaveError(f"%%save needs a path inside your workspace, like src/handlers/app.py "
                        f"(got {relative!r}).")
    return root / rel


def save(relative: str, text: str, project: Path | None = None) -> Path:
    path = target(relative, project)
    root = workspace.root(project)
    body = "".join(line for line in text.splitlines(keepends=True) if not MARKER.match(line))
    if path.is_file() and path.read_text() != body:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        backup = root / ".course" / "history" / f"{relative.strip()}.{stamp}"
        backup.parent.mkdir(parents=True, exist_ok=True)
        backup.write_text(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    _forget_module(path, root)
    print(f"Saved {relative.strip()} ({len(body.splitlines())} lines) in {root}")
    if path.suffix == ".py":
        try:
            compile(body, str(path), "exec")
        except SyntaxError as exc:
            raise SavedWithSyntaxError(f"Saved, but {relative.strip()} has a syntax error on line "
                              f"{exc.lineno}: {exc.msg}") from None
    placeholder = PLACEHOLDER.search(body)
    if placeholder:
        raise ExerciseNotFinished(f"{placeholder.group(1)} (saved; replace the "
                                  "`raise NotImplementedError` line with your code, then run "
                                  "this cell again)")
    return path


def saved_cells(notebook: Path) -> list[tuple[str, str]]:
    """(path, file text) for every `%%save` cell of a notebook, in order, markers removed."""
    import nbformat

    cells = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        first, _, body = cell.source.partition("\n")
        if cell.cell_type == "code" and first.startswith("%%save "):
            text = "".join(line for line in body.splitlines(keepends=True)
                           if not MARKER.match(line))
            cells.append((first.split(maxsplit=1)[1].strip(), text))
    return cells


def _forget_module(path: Path, root: Path) -> None:
    """Drop the kernel's cached module so the next import reads the new file."""
    try:
        rel = path.relative_to(root / "src").with_suffix("")
    except ValueError:
        return
    name = ".".join(rel.parts).removesuffix(".__init__")
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[loaded]
    sys.path_importer_cache.pop(str(root / "src"), None)  # the folder may be new
    importlib.invalidate_caches()


def register(ipython: Any) -> None:
    def save_magic(line: str, cell: str) -> None:
        try:
            save(line, cell)
        except SaveError as exc:
            print(exc, file=sys.stderr)
            raise

    ipython.register_magic_function(save_magic, magic_kind="cell", magic_name="save")
