"""The check engine and the API check modules are written with.

A check module (`tests/checks/lesson_NN.py`) declares exercises and their behaviours:

    from course.checks import Project, exercise

    ex = exercise("0.1", "A proxy response", files=["src/utils/helpers.py"])

    @ex.behaviour("returns a JSON body", hint="Lesson 00, 'The proxy response', says how.")
    def _(project: Project) -> None:
        helpers = project.module("utils.helpers")
        assert isinstance(helpers.json_response(200, {})["body"], str), "body must be a string"

A lesson's formative questions live here too, out of the learner's sight:

    question("0.a", "What does json.dumps({}) return?", ["{}", "'{}'", "None"], answer=1,
             why=["That is the dict itself...", "A string: ...", "json.dumps never..."])

and a notebook cell asks one with `ask("0.a")`.

An assertion's message is what the learner reads, so write it for them. Check modules
import only the standard library and `course.checks` at the top; anything heavier goes
inside the behaviour, so listing exercises (progress view) stays cheap. Helpers that several
lessons need (a Lambda context, running the learner's own tests, broken variants of their
code) are in `course.checks.kit`.
"""

from course.checks.exercises import exercise, question
from course.checks.project import BehaviourTimeout, LearnerError, Project

__all__ = ["BehaviourTimeout", "LearnerError", "Project", "exercise", "question"]
