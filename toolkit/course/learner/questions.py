"""`ask("2.a")`: a quick formative question in the notebook, answered with a click.

The questions live with the hidden tests (`question(...)` in `tests/checks/lesson_NN.py`), so
the notebook shows only the prompt and the choices; the explanation of each choice appears
once the learner has picked one. Answers are remembered in the workspace and counted in
`progress()`; they are never graded.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from course import workspace
from course.checks import exercises
from course.learner import progress as store
from course.learner.views import CSS, GREEN, RED, markdown_inline

FENCE = re.compile(r"```(?:\w+)?\n(.*?)```", re.S)


def _markdown(text: str) -> str:
    """Inline `code` and **bold**, and fenced code blocks as <pre>."""
    parts, last = [], 0
    for block in FENCE.finditer(text):
        parts.append(markdown_inline(text[last:block.start()]).replace("\n", "<br>"))
        parts.append(f"<pre class='course-code'>{html.escape(block.group(1))}</pre>")
        last = block.end()
    parts.append(markdown_inline(text[last:]).replace("\n", "<br>"))
    return "".join(parts)


class QuestionView:
    """The question as a widget (choices, a button, feedback) with a text/plain twin."""

    def __init__(self, question: exercises.Question, root: Path) -> None:
        self.question, self.root = question, root

    def feedback(self, chosen: int) -> tuple[bool, str]:
        """Record the answer; (right?, the explanation to show)."""
        right = chosen == self.question.answer
        store.record_answer(self.question.id, right, self.root)
        why = self.question.why[chosen]
        if right:
            return True, f"Right. {why}"
        return False, f"Not quite. {why} Pick another and check again."

    def widget(self) -> Any:
        import ipywidgets as w

        q = self.question
        choices = w.RadioButtons(options=[(text, n) for n, text in enumerate(q.choices)],
                                 value=None, layout=w.Layout(width="auto"))
        button = w.Button(description="Check my answer", button_style="info")
        result = w.HTML()

        def on_click(_: Any) -> None:
            if choices.value is None:
                result.value = "<i>Pick an answer first.</i>"
                return
            right, text = self.feedback(int(choices.value))
            colour = GREEN if right else RED
            result.value = (f'<div style="color:{colour}"><b>{"✔" if right else "✘"}</b> '
                            f"{_markdown(text)}</div>")

        button.on_click(on_click)
        head = w.HTML(CSS + f'<div class="course-question"><b>Question {q.id}.</b> '
                      f"{_markdown(q.prompt)}</div>")
        box = w.VBox([head, choices, button, result])
        box.add_class("course-view")
        return box

    def text(self) -> str:
        q = self.question
        lines = [f"Question {q.id}. {q.prompt}"]
        lines += [f"  {chr(ord('A') + n)}) {choice}" for n, choice in enumerate(q.choices)]
        return "\n".join(lines + ["  (answer with the buttons in JupyterLab)"])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        try:
            bundle: dict[str, Any] = self.widget()._repr_mimebundle_()
        except Exception:  # noqa: BLE001 - no widget support: the text still reads
            bundle = {}
        bundle["text/plain"] = self.text()
        return bundle

    def __repr__(self) -> str:
        return self.text()


def ask(question_id: str, *, project: str | Path | None = None) -> QuestionView:
    """Show question `question_id` (e.g. "2.a"): pick an answer, then check it."""
    return QuestionView(exercises.get_question(str(question_id)), workspace.root(project))
