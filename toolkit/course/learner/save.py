"""`%%save PATH`: write the cell as a file of the learner's project; `restore(PATH)`: undo.

Nothing is ever lost: before a file is replaced, its previous version goes to
`.course/history/`, and `restore()` brings any version back (keeping the one it replaces).
A cell that still holds an exercise's placeholder never replaces a learner's own file.
Errors are one line, where the learner can act: a syntax error names the line as the learner
sees it in the cell.
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
STAMP = "%Y%m%d-%H%M%S-%f"


class SaveError(ValueError):
    pass


class _OneLine:
    """IPython shows these as one red line, not a traceback through the toolkit."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class ExerciseNotFinished(_OneLine, NotImplementedError):
    pass


class SavedWithSyntaxError(_OneLine, Exception):
    """Not a SyntaxError subclass: IPython would show those with a traceback of its own."""


class NothingToRestore(_OneLine, LookupError):
    pass


def target(relative: str, project: Path | None = None) -> Path:
    root = workspace.root(project)
    rel = PurePosixPath(relative.strip())
    if not relative.strip() or rel.is_absolute() or ".." in rel.parts:
        raise SaveError(f"%%save needs a path inside your workspace, like src/handlers/app.py "
                        f"(got {relative!r}).")
    return root / rel


def strip_markers(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not MARKER.match(line))


def ago(when: datetime, now: datetime | None = None) -> str:
    """'14:02 (3 minutes ago)' for a local time."""
    seconds = max(((now or datetime.now()) - when).total_seconds(), 0)
    if seconds < 60:
        rel = "just now"
    elif seconds < 3600:
        minutes = int(seconds // 60)
        rel = f"{minutes} minute{'s' * (minutes != 1)} ago"
    elif seconds < 86400:
        hours = int(seconds // 3600)
        rel = f"{hours} hour{'s' * (hours != 1)} ago"
    else:
        rel = when.strftime("%Y-%m-%d")
    return f"{when:%H:%M} ({rel})"


def saved_at(path: Path) -> str:
    return ago(datetime.fromtimestamp(path.stat().st_mtime))


def _history(root: Path, relative: str) -> Path:
    return root / ".course" / "history" / relative


def _keep(path: Path, root: Path, relative: str) -> None:
    """Copy the current version of `path` into the history."""
    backup = Path(f"{_history(root, relative)}.{datetime.now():{STAMP}}")
    backup.parent.mkdir(parents=True, exist_ok=True)
    backup.write_bytes(path.read_bytes())


def versions(relative: str, project: Path | None = None) -> list[tuple[Path, datetime]]:
    """The kept versions of a file, newest first."""
    root = workspace.root(project)
    base = _history(root, relative.strip())
    found = []
    for path in base.parent.glob(f"{base.name}.*"):
        try:
            found.append((path, datetime.strptime(path.name[len(base.name) + 1:], STAMP)))
        except ValueError:
            continue
    return sorted(found, key=lambda item: item[1], reverse=True)


def save(relative: str, text: str, project: Path | None = None, *, cell_offset: int = 0) -> Path:
    """Write `text` (solution markers removed) as the workspace file `relative`.

    cell_offset: lines above the text in the learner's cell (1 for the %%save line), so a
    syntax error names the line the learner sees.
    """
    relative = relative.strip()
    path = target(relative, project)
    root = workspace.root(project)
    body = strip_markers(text)
    if body and not body.endswith("\n"):  # a cell's text has no final newline; a file does
        body += "\n"
    placeholder = PLACEHOLDER.search(body)
    current = path.read_text() if path.is_file() else None
    if placeholder and current is not None and current != body \
            and not PLACEHOLDER.search(current):
        exercise = placeholder.group(1).split(":")[0].lower()
        raise ExerciseNotFinished(
            f"Kept your {relative}, saved {saved_at(path)}: this cell still holds the "
            f"placeholder of {exercise}, so it did not replace your file. Write your answer "
            "in the cell to replace it.")
    lines = len(body.splitlines())
    if current == body:
        print(f"{relative} is unchanged ({lines} lines).")
    else:
        if current is not None:
            _keep(path, root, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        _forget_module(path, root)
        kept = (f' Your previous version is kept: restore("{relative}") brings it back.'
                if current is not None else "")
        print(f"Saved {relative} ({lines} lines) in {root}.{kept}")
    if path.suffix == ".py":
        try:
            compile(body, str(path), "exec")
        except SyntaxError as exc:
            line = (exc.lineno or 0) + cell_offset
            raise SavedWithSyntaxError(
                f"Saved, but {relative} has a syntax error on line {line} of this cell: "
                f"{exc.msg}. Fix it and run the cell again.") from None
    if placeholder:
        raise ExerciseNotFinished(f"{placeholder.group(1)} (saved; replace the "
                                  "`raise NotImplementedError` line with your code, then run "
                                  "this cell again)")
    return path


def restore(relative: str | None = None, version: int = 1, *,
            project: Path | None = None) -> None:
    """Bring back a kept version of a workspace file (1 = the newest) and list the others.

    The version it replaces is kept too, so restoring again undoes a restore. Without a
    path, list every file that has kept versions.
    """
    root = workspace.root(project)
    if relative is None:
        history = root / ".course" / "history"
        files = sorted({str(p.relative_to(history)).rsplit(".", 1)[0]
                        for p in history.rglob("*.*") if p.is_file()}) if history.is_dir() else []
        if not files:
            print("No file has an earlier version yet: %%save keeps one each time it replaces "
                  "a file.")
        for name in files:
            kept = versions(name, root)
            print(f'{name}: {len(kept)} earlier version(s), the newest from '
                  f'{ago(kept[0][1])}: restore("{name}")')
        return
    relative = relative.strip()
    path = target(relative, root)
    kept = versions(relative, root)
    if not kept:
        raise NothingToRestore(f"{relative} has no earlier version: %%save keeps one each time "
                               "it replaces the file.")
    if not 1 <= version <= len(kept):
        raise NothingToRestore(f"{relative} has {len(kept)} earlier version(s): use a number "
                               f"from 1 (the newest) to {len(kept)}.")
    chosen, when = kept[version - 1]
    if path.is_file():
        _keep(path, root, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(chosen.read_bytes())
    chosen.unlink()
    _forget_module(path, root)
    print(f"Restored {relative} to the version saved at {ago(when)}; the one it replaced is "
          f'kept (restore("{relative}") again swaps back).')
    for number, (version_path, saved) in enumerate(versions(relative, root), start=1):
        lines = len(version_path.read_text(errors="replace").splitlines())
        print(f'  {number}: saved {ago(saved)}, {lines} lines -> restore("{relative}", {number})')


def saved_cells(notebook: Path) -> list[tuple[str, str]]:
    """(path, file text) for every `%%save` cell of a notebook, in order, markers removed."""
    import nbformat

    cells = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        first, _, body = cell.source.partition("\n")
        if cell.cell_type == "code" and first.startswith("%%save "):
            cells.append((first.split(maxsplit=1)[1].strip(), strip_markers(body)))
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


def load_saved(relative: str, project: Path | None = None) -> tuple[str, str]:
    """(cell text, message): a `%%save` cell holding the learner's current file."""
    relative = relative.strip()
    path = target(relative, project)
    if not path.is_file():
        raise ExerciseNotFinished(
            f"{relative} does not exist yet: do the earlier exercise whose cell saves it "
            f"(the cell starting with %%save {relative}) first.")
    text = path.read_text()
    message = (f"Loaded your {relative}, saved {saved_at(path)}, into this cell: change it as "
               "the exercise asks, then run the cell again to save it.")
    unfinished = PLACEHOLDER.search(text)
    if unfinished:
        message += (f" It still holds the placeholder of "
                    f"{unfinished.group(1).split(':')[0].lower()}: finish that one first.")
    return f"%%save {relative}\n{text}", message


class SaveErrorInCell(_OneLine, ValueError):
    pass


def register(ipython: Any) -> None:
    """`%%save PATH` (a cell becomes a file) and `%load_saved PATH` (a file becomes a cell)."""

    def save_magic(line: str, cell: str) -> None:
        try:
            save(line, cell, cell_offset=1)
        except SaveError as exc:
            raise SaveErrorInCell(str(exc)) from None

    def load_saved_magic(line: str) -> None:
        try:
            text, message = load_saved(line)
        except SaveError as exc:
            raise SaveErrorInCell(str(exc)) from None
        ipython.set_next_input(text, replace=True)
        print(message)

    ipython.register_magic_function(save_magic, magic_kind="cell", magic_name="save")
    ipython.register_magic_function(load_saved_magic, magic_kind="line",
                                    magic_name="load_saved")
