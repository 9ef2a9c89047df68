"""What grading writes: the gradebook CSV, each learner's feedback, the class summary.

Built from the checker's verdicts only (behaviour names, messages, hints): never from the
hidden tests' source.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from course.checks import exercises
from course.learner.views import Result, Verdict

MESSAGE_LIMIT = 800  # characters of a message kept in the feedback
NOT_STARTED = "does not exist yet in your workspace"


@dataclass
class Graded:
    """One learner's grade: a verdict per exercise, and what the grader noticed."""

    learner: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    attempted: list[str] = field(default_factory=list)  # exercises with a file in the workspace


def not_graded(exercise_id: str, why: str) -> Verdict:
    ex = exercises.get(exercise_id)
    return Verdict(ex.id, ex.title,
                   [Result(b.name, False, why, list(b.hints)) for b in ex.behaviours])


def score(graded: Graded) -> tuple[int, int]:
    results = [r for v in graded.verdicts.values() for r in v.results]
    return sum(r.passed for r in results), len(results)


def write_gradebook(rows: list[Graded], path: Path, exercise_ids: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["learner", *exercise_ids, "passed", "total", "percent", "exercises_complete",
                      "notes"])
        for g in rows:
            cells = [f"{sum(r.passed for r in g.verdicts[e].results)}/"
                     f"{len(g.verdicts[e].results)}" for e in exercise_ids]
            passed, total = score(g)
            complete = sum(g.verdicts[e].passed for e in exercise_ids)
            out.writerow([g.learner, *cells, passed, total,
                          f"{100 * passed / total:.1f}" if total else "0.0",
                          f"{complete}/{len(exercise_ids)}", "; ".join(g.notes)])


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + " [...]"


def feedback(graded: Graded) -> str:
    passed, total = score(graded)
    complete = sum(v.passed for v in graded.verdicts.values())
    lines = [f"# Feedback: {graded.learner}", "",
             f"**{passed} of {total} checks pass** ({100 * passed / total if total else 0:.0f}%)"
             f" · {complete} of {len(graded.verdicts)} exercises complete", ""]
    lines += [f"_Note: {note}_" for note in graded.notes if note] + [""] * bool(graded.notes)
    for verdict in sorted(graded.verdicts.values(), key=lambda v: exercises.sort_key(v.exercise)):
        ok = sum(r.passed for r in verdict.results)
        mark = "✔" if verdict.passed else "✘"
        lines += [f"## {mark} {verdict.exercise} · {verdict.title} — {ok}/{len(verdict.results)}",
                  ""]
        for r in verdict.results:
            lines.append(f"- {'✔' if r.passed else '✘'} {r.name}")
            if not r.passed:
                lines += [f"  > {line}" for line in _clip(r.message).splitlines() or [""]]
                lines += [f"  *Hint:* {_clip(hint)}" for hint in r.hints]
        lines.append("")
    return "\n".join(lines)


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name).lstrip(".") or "learner"


def attempted(graded: Graded, exercise_id: str) -> bool:
    """Did the learner start the exercise? (One of its files is in the workspace.)"""
    if exercises.get(exercise_id).files:
        return exercise_id in graded.attempted
    return any(r.passed or NOT_STARTED not in r.message and not r.message.startswith(
        "Not graded") for r in graded.verdicts[exercise_id].results)


def class_summary(rows: list[Graded], exercise_ids: list[str]) -> str:
    """Markdown: per exercise, how many completed, and the behaviours most often failed by
    learners who attempted it, with their most frequent message."""
    lines = ["# What the class gets wrong", "",
             f"{len(rows)} learners. Per exercise: complete / attempted; then each behaviour "
             "failed by learners who attempted it, most frequent first.", ""]
    for exercise_id in exercise_ids:
        verdicts = [g.verdicts[exercise_id] for g in rows if exercise_id in g.verdicts]
        tried = [g.verdicts[exercise_id] for g in rows
                 if exercise_id in g.verdicts and attempted(g, exercise_id)]
        complete = sum(v.passed for v in verdicts)
        title = verdicts[0].title if verdicts else exercises.get(exercise_id).title
        lines += [f"## {exercise_id} · {title}: {complete} complete / {len(tried)} attempted", ""]
        failures: dict[str, Counter[str]] = {}
        for verdict in tried:
            for r in verdict.results:
                if not r.passed:
                    failures.setdefault(r.name, Counter())[_clip(r.message)[:200]] += 1
        for name, messages in sorted(failures.items(), key=lambda kv: -kv[1].total()):
            message, count = messages.most_common(1)[0]
            lines.append(f"- {messages.total()}× {name} — most often: “{message}” ({count}×)")
        lines.append("")
    return "\n".join(lines)
