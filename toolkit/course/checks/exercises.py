"""The exercises of the course: what check modules declare, loaded from `tests/checks/`.

A check module (`tests/checks/lesson_NN.py`) declares exercises and their behaviours with
`exercise()` (see `course.checks`). Loading imports every module by path, so nothing of
the course has to be on `sys.path`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from course.checks.project import LearnerError, Project
from course.workspace import course_home

EXERCISE_ID = re.compile(r"^\d+\.\d+$")
DEFAULT_LIMIT = 3.0  # seconds of CPU per behaviour
SLACK = 3.0  # seconds of grace for a whole exercise on top of its behaviours' limits


@dataclass
class Behaviour:
    name: str
    hints: tuple[str, ...]  # from the concept (where the lesson explains it) to more specific
    func: Callable[[Project], None]


@dataclass
class Exercise:
    id: str
    title: str
    lesson: str
    files: tuple[str, ...] = ()
    timeout: float = DEFAULT_LIMIT  # seconds per behaviour
    behaviours: list[Behaviour] = field(default_factory=list)

    def behaviour(self, name: str, *, hint: str | Sequence[str] = ()
                  ) -> Callable[[Callable], Callable]:
        """Register a behaviour. hint: one hint, or steps shown one more at a time as the
        learner keeps failing this behaviour: the concept and where the lesson explains it
        first, never the code."""
        hints = (hint,) if isinstance(hint, str) else tuple(hint)

        def register(func: Callable[[Project], None]) -> Callable[[Project], None]:
            self.behaviours.append(Behaviour(name, tuple(h for h in hints if h), func))
            return func

        return register

    @property
    def budget(self) -> float:
        """The longest a whole check of this exercise may take, in seconds."""
        return self.timeout * len(self.behaviours) + SLACK


@dataclass
class Question:
    """A quick formative question (predict the output, or pick one): not graded, but counted
    in progress(). `why` explains each choice, right or wrong."""

    id: str
    lesson: str
    prompt: str
    choices: tuple[str, ...]
    answer: int
    why: tuple[str, ...]


REGISTRY: dict[str, Exercise] = {}
QUESTIONS: dict[str, Question] = {}
_loading_lesson = ""
QUESTION_ID = re.compile(r"^\d+\.[a-z]$")


def exercise(exercise_id: str, title: str, *, files: Iterable[str] = (),
             timeout: float = DEFAULT_LIMIT) -> Exercise:
    """Declare exercise `exercise_id` (e.g. "2.1"); use its `.behaviour` decorator."""
    if not EXERCISE_ID.match(exercise_id):
        raise ValueError(f"exercise ids look like '2.1', got {exercise_id!r}")
    ex = Exercise(exercise_id, title, _loading_lesson, tuple(files), timeout)
    REGISTRY[exercise_id] = ex
    return ex


def question(question_id: str, prompt: str, choices: Sequence[str], *, answer: int,
             why: Sequence[str]) -> Question:
    """Declare question `question_id` (e.g. "2.a"): a notebook cell asks it with ask("2.a")."""
    if not QUESTION_ID.match(question_id):
        raise ValueError(f"question ids look like '2.a', got {question_id!r}")
    if not 0 <= answer < len(choices) or len(why) != len(choices) or len(choices) < 2:
        raise ValueError(f"question {question_id}: one `why` per choice, an answer among them")
    found = Question(question_id, _loading_lesson, prompt, tuple(choices), answer, tuple(why))
    QUESTIONS[question_id] = found
    return found


def checks_dir() -> Path:
    return course_home() / "tests" / "checks"


def lesson_modules() -> list[Path]:
    return sorted(checks_dir().glob("lesson_*.py"))


def load_all(force: bool = False) -> dict[str, Exercise]:
    """Import every check module (by path, so no sys.path games) and return the registry."""
    global _loading_lesson
    if REGISTRY and not force:
        return REGISTRY
    REGISTRY.clear()
    QUESTIONS.clear()
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
    return int(lesson), int(number) if number.isdigit() else ord(number)


def get_question(question_id: str) -> Question:
    load_all()
    if question_id not in QUESTIONS:
        known = ", ".join(sorted(QUESTIONS, key=sort_key))
        raise LearnerError(f"There is no question {question_id!r}. Questions: {known}")
    return QUESTIONS[question_id]


def ordered() -> list[Exercise]:
    return sorted(load_all().values(), key=lambda e: sort_key(e.id))


LESSON_HEADING = re.compile(r"^#\s+(?:\d+\s*·\s*)?(.+)$", re.M)
LESSON_TIME = re.compile(r"\*\*Time:\*\*\s*([^·\n]+)")


def lessons() -> dict[str, tuple[str, str]]:
    """Lesson number -> (title, time estimate), read from each lesson's opening cell.

    The one source of lesson titles: the progress view, the release's README and the
    instructor notes all read it from here.
    """
    found = {}
    for path in sorted((course_home() / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        try:
            cells = json.loads(path.read_text())["cells"]
            first = "".join(cells[0]["source"])
        except (OSError, ValueError, KeyError, IndexError):
            continue
        title = LESSON_HEADING.search(first)
        time = LESSON_TIME.search(first)
        found[path.name[:2]] = (title.group(1).strip() if title else path.stem,
                                time.group(1).strip() if time else "")
    return found
