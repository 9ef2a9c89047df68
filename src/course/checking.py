"""How hidden tests are written: exercises, behaviours and the project under test.

A check module (`tests/checks/lesson_NN.py`) declares exercises and their behaviours:

    ex = exercise("0.1", "A proxy response", files=["src/utils/helpers.py"])

    @ex.behaviour("returns a JSON body", hint="json.dumps turns a dict into a string.")
    def _(project: Project) -> None:
        helpers = project.module("utils.helpers")
        assert isinstance(helpers.json_response(200, {})["body"], str), "body must be a string"

An assertion's message is what the learner reads, so write it for them. Check modules
import only the standard library and `course` at the top; anything heavier goes inside
the behaviour, so listing exercises (progress view) stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from course.workspace import COURSE_ROOT

CHECKS_DIR = COURSE_ROOT / "tests" / "checks"
EXERCISE_ID = re.compile(r"^\d+\.\d+$")


class LearnerError(Exception):
    """A failure whose message is addressed to the learner (missing file, import error...)."""


class BehaviourTimeout(BaseException):
    """Raised inside the learner's code when a behaviour runs past its limit.

    A BaseException, so a learner's `except Exception:` cannot swallow it.
    """


@dataclass
class Behaviour:
    name: str
    hint: str
    func: Callable[[Project], None]


@dataclass
class Exercise:
    id: str
    title: str
    lesson: str
    files: tuple[str, ...] = ()
    timeout: float = 3.0  # seconds per behaviour
    behaviours: list[Behaviour] = field(default_factory=list)

    def behaviour(self, name: str, *, hint: str = "") -> Callable[[Callable], Callable]:
        def register(func: Callable[[Project], None]) -> Callable[[Project], None]:
            self.behaviours.append(Behaviour(name, hint, func))
            return func

        return register


REGISTRY: dict[str, Exercise] = {}
_loading_lesson = ""


def exercise(exercise_id: str, title: str, *, files: Iterable[str] = (),
             timeout: float = 3.0) -> Exercise:
    """Declare exercise `exercise_id` (e.g. "2.1"); use its `.behaviour` decorator."""
    if not EXERCISE_ID.match(exercise_id):
        raise ValueError(f"exercise ids look like '2.1', got {exercise_id!r}")
    ex = Exercise(exercise_id, title, _loading_lesson, tuple(files), timeout)
    REGISTRY[exercise_id] = ex
    return ex


def lesson_modules() -> list[Path]:
    return sorted(CHECKS_DIR.glob("lesson_*.py"))


def load_all(force: bool = False) -> dict[str, Exercise]:
    """Import every check module (by path, so no sys.path games) and return the registry."""
    global _loading_lesson
    if REGISTRY and not force:
        return REGISTRY
    REGISTRY.clear()
    for path in lesson_modules():
        _loading_lesson = path.stem.removeprefix("lesson_")
        name = f"course_checks.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    _loading_lesson = ""
    return REGISTRY


def get(exercise_id: str) -> Exercise:
    exercises = load_all()
    if exercise_id not in exercises:
        known = ", ".join(sorted(exercises, key=sort_key))
        raise LearnerError(f"There is no exercise {exercise_id!r}. Exercises: {known}")
    return exercises[exercise_id]


def sort_key(exercise_id: str) -> tuple[int, int]:
    lesson, number = exercise_id.split(".")
    return int(lesson), int(number)


class Project:
    """The learner's project (or the reference one) as a behaviour sees it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.src = root / "src"
        self._failed_imports: dict[str, LearnerError] = {}

    def path(self, relative: str) -> Path:
        return self.root / relative

    def require(self, relative: str) -> Path:
        path = self.path(relative)
        if not path.is_file():
            raise LearnerError(
                f"{relative} does not exist yet in your workspace: run the exercise cell "
                "that saves it (the one starting with %%save)."
            )
        return path

    def module(self, dotted: str) -> ModuleType:
        """Import one of the project's modules, with learner-friendly errors."""
        if dotted in self._failed_imports:
            raise self._failed_imports[dotted]
        relative = "src/" + dotted.replace(".", "/") + ".py"
        path = self.require(relative)
        try:
            return _explained_import(relative, path, lambda: importlib.import_module(dotted))
        except LearnerError as error:
            self._failed_imports[dotted] = error  # a broken import fails fast the next time
            raise

    def load_file(self, relative: str, name: str) -> ModuleType:
        """Import a file of the project by path as module `name` (e.g. a learner's tests)."""
        path = self.require(relative)

        def load() -> ModuleType:
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module

        return _explained_import(relative, path, load)

    def function(self, dotted: str, name: str) -> Callable:
        module = self.module(dotted)
        func = getattr(module, name, None)
        if not callable(func):
            raise LearnerError(
                f"src/{dotted.replace('.', '/')}.py has no function named {name!r}: "
                "check the spelling of the def line."
            )
        return func


def _explained_import(relative: str, path: Path, load: Callable[[], ModuleType]) -> ModuleType:
    """Run `load`, turning whatever the learner's file does wrong into a LearnerError."""
    try:
        return load()
    except SyntaxError as exc:
        raise LearnerError(f"{relative} has a syntax error on line {exc.lineno}: {exc.msg}."
                           ) from None
    except ModuleNotFoundError as exc:
        raise LearnerError(f"Importing {relative} failed: module {exc.name!r} was not found. "
                           "Check the import lines at the top of the file.") from None
    except BehaviourTimeout as exc:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
                 if f.filename == str(path)]
        at = f" (still at line {lines[-1]})" if lines else ""
        raise LearnerError(f"Importing {relative} did not finish in time{at}: code at the top "
                           "level of the module loops or waits. Keep the top level to imports "
                           "and definitions.") from None
    except Exception as exc:  # noqa: BLE001 - any error at import is the learner's to see
        raise LearnerError(f"Importing {relative} raised {type(exc).__name__}: "
                           f"{str(exc)[:300]}. Code at the top level of a module runs on import: "
                           "keep it to imports, constants and definitions.") from None
