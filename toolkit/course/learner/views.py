"""Verdicts and what shows them: an ipywidgets view in JupyterLab, plain text elsewhere.

Every view is one object whose MIME bundle carries the widget *and* a readable
text/plain, so a terminal, nbval or a grader's log shows words, not `VBox(...)`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, TODO = "✔", "✘", "○"
# The course's one palette (GitHub's accessible greens and reds).
GREEN, RED, GREY, AMBER = "#1a7f37", "#cf222e", "#8c959f", "#9a6700"


@dataclass
class Result:
    """One behaviour of an exercise, checked. hints: the steps a learner may be shown, from
    the concept to the most specific (never the code); the kernel decides how many."""

    name: str
    passed: bool
    message: str = ""
    hints: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Verdict:
    """One exercise, checked: a result per behaviour."""

    exercise: str
    title: str
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        results = [Result(**r) for r in data.get("results", [])]
        return cls(data["exercise"], data["title"], results, data.get("seconds", 0.0))
CSS = """<style>
.course-card{font-family:var(--jp-ui-font-family,sans-serif);border-left:4px solid var(--c);
  padding:6px 12px;margin:4px 0;background:var(--jp-layout-color1,#fff)}
.course-card h4{margin:2px 0 6px;color:var(--c)}
.course-row{margin:3px 0}.course-msg{margin:2px 0 2px 22px}
.course-card details{margin:2px 0 4px 22px;color:#57606a}
.course-card summary{cursor:pointer;color:#0969da}
.course-bar{display:inline-block;height:10px;background:#eaeef2;width:160px;vertical-align:middle}
.course-bar span{display:block;height:10px;background:#2da44e}
.course-chip{display:inline-block;min-width:34px;padding:1px 6px;margin:1px;border-radius:9px;
  text-align:center;font-size:12px;color:#fff}
.course-view>.widget-html-content{flex:1 1 auto;min-width:0;line-height:1.45}
.course-card h4,.course-row,.course-msg,.course-card details{overflow-wrap:anywhere}
.course-msg{white-space:pre-wrap}
.course-card details{color:var(--jp-content-font-color2,#57606a)}
.course-card summary{color:var(--jp-brand-color1,#0969da)}
.course-shared{margin-left:0}.course-warn{margin:2px 0 6px;color:#9a6700;font-weight:600}
.course-checked{margin-top:6px;font-size:90%;color:var(--jp-content-font-color2,#57606a)}
.course-card code{font-size:90%}
.course-q{background:transparent;border:1px solid;font-weight:600}
.course-question{margin:4px 0}
.course-code{margin:4px 0;padding:6px;background:rgba(127,127,127,.08)}
</style>"""


class Rendered:
    """A displayable pair: a widget for Jupyter frontends, text for everything else."""

    def __init__(self, html_text: str, plain: str) -> None:
        self.html = html_text
        self.plain = plain

    def widget(self) -> Any:  # an ipywidgets.HTML, imported when first shown
        import ipywidgets

        view = ipywidgets.HTML(value=CSS + self.html)
        view.add_class("course-view")  # lets the CSS above wrap long lines inside the card
        return view

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        try:
            bundle = self.widget()._repr_mimebundle_()
        except Exception:  # noqa: BLE001 - no widget support: text and HTML still work
            bundle = {"text/html": CSS + self.html}
        bundle["text/plain"] = self.plain
        return bundle

    def __repr__(self) -> str:
        return self.plain


def _summary(verdict: Verdict) -> str:
    passed = sum(r.passed for r in verdict.results)
    total = len(verdict.results)
    if verdict.passed:
        return f"all {total} checks pass"
    return f"{passed} of {total} checks pass"


_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def markdown_inline(text: str) -> str:
    """HTML for the little Markdown hints and messages use: `code` and **bold**."""
    escaped = html.escape(text)
    return _BOLD.sub(r"<b>\1</b>", _CODE.sub(r"<code>\1</code>", escaped))


def _hints(hints: list[str], indent: str) -> tuple[str, list[str]]:
    """One collapsible block per hint step shown (HTML), and the same as text lines."""
    if not hints:
        return "", []
    label = ["Hint"] if len(hints) == 1 else [f"Hint {n}" for n in range(1, len(hints) + 1)]
    blocks = "".join(f"<details><summary>{name}</summary>{markdown_inline(hint)}</details>"
                     for name, hint in zip(label, hints, strict=True))
    return blocks, [f"{indent}{name}: {hint}" for name, hint in zip(label, hints, strict=True)]


def verdict_view(verdict: Verdict, *, checked: Iterable[str] = (),
                 warnings: Iterable[str] = ()) -> Rendered:
    """The verdict of one check. checked: what was checked ("src/x.py saved 14:02 (...)");
    warnings: said above everything else (e.g. a cell edited but not saved)."""
    colour = GREEN if verdict.passed else RED
    icon = PASS if verdict.passed else FAIL
    head = f"{icon} Exercise {verdict.exercise} · {verdict.title}: {_summary(verdict)}"
    rows, lines = [], [head]
    for warning in warnings:
        rows.append(f'<div class="course-warn">⚠ {markdown_inline(warning)}</div>')
        lines.append(f"  ⚠ {warning}")
    counts: dict[str, int] = {}
    for r in verdict.results:
        if not r.passed:
            counts[r.message] = counts.get(r.message, 0) + 1
    shared = [message for message, count in counts.items() if count > 1]
    for message in shared:  # one cause (a missing file, a placeholder...): said once, above
        rows.append(f'<div class="course-msg course-shared">{markdown_inline(message)}</div>')
        lines.append(f"  {message}")
    for r in verdict.results:
        mark = PASS if r.passed else FAIL
        rows.append(f'<div class="course-row"><b style="color:{GREEN if r.passed else RED}">'
                    f"{mark}</b> {html.escape(r.name)}</div>")
        lines.append(f"  {mark} {r.name}")
        if r.passed:
            continue
        if r.message not in shared:
            rows.append(f'<div class="course-msg">{markdown_inline(r.message)}</div>')
            lines.append(f"      {r.message}")
        block, text = _hints(r.hints, "      ")
        rows.append(block)
        lines += text
    if verdict.passed:
        lines.append("  Well done. Your progress is saved: progress() shows it.")
        rows.append('<div class="course-row">Well done. Your progress is saved: '
                    "<code>progress()</code> shows it.</div>")
    checked = list(checked)
    if checked:
        rows.append(f'<div class="course-checked">Checked: {html.escape("; ".join(checked))}'
                    "</div>")
        lines.append(f"  Checked: {'; '.join(checked)}")
    body = (f'<div class="course-card course-verdict" style="--c:{colour}">'
            f"<h4>{html.escape(head)}</h4>{''.join(rows)}</div>")
    return Rendered(body, "\n".join(lines))


def message_view(title: str, message: str) -> Rendered:
    body = (f'<div class="course-card" style="--c:{AMBER}"><h4>{html.escape(title)}</h4>'
            f"<div>{html.escape(message)}</div></div>")
    return Rendered(body, f"{title}\n  {message}")


def _bar(done: int, total: int) -> str:
    width = 0 if not total else round(100 * done / total)
    return f'<span class="course-bar"><span style="width:{width}%"></span></span>'


def progress_view(lessons: Iterable[tuple[str, list[tuple[str, str, str]]]]) -> Rendered:
    """lessons: (lesson label, [(id, title, status)]): exercises with status passed/failed/todo
    and formative questions (title "question") with status answered/failed/todo."""
    colours = {"passed": GREEN, "answered": GREEN, "failed": RED, "todo": GREY}
    marks = {"passed": PASS, "answered": PASS, "failed": FAIL, "todo": TODO}
    rows, lines = [], []
    done_all = total_all = answered_all = asked_all = 0
    for label, items in lessons:
        exercises = [item for item in items if item[1] != "question"]
        questions = [item for item in items if item[1] == "question"]
        done = sum(s == "passed" for _, _, s in exercises)
        answered = sum(s == "answered" for _, _, s in questions)
        done_all, total_all = done_all + done, total_all + len(exercises)
        answered_all, asked_all = answered_all + answered, asked_all + len(questions)
        chips = "".join(
            f'<span class="course-chip" title="{html.escape(ex_id)} {html.escape(title)}: '
            f'{status}" style="background:{colours[status]}">{marks[status]} {ex_id}</span>'
            for ex_id, title, status in exercises)
        chips += "".join(
            f'<span class="course-chip course-q" title="question {html.escape(q_id)}: '
            f'{status}" style="color:{colours[status]};border-color:{colours[status]}">'
            f"? {q_id}</span>" for q_id, _, status in questions)
        quiz = f" · {answered}/{len(questions)} ?" if questions else ""
        rows.append(f"<tr><td>{html.escape(label)}</td><td>{_bar(done, len(exercises))} "
                    f"{done}/{len(exercises)}{quiz}</td><td>{chips}</td></tr>")
        lines.append(f"  {label:<34} {done}/{len(exercises)}  "
                     + " ".join(f"{marks[s]} {i}" for i, _, s in exercises)
                     + (f"  questions {answered}/{len(questions)}" if questions else ""))
    head = f"Course progress: {done_all} of {total_all} exercises pass"
    if asked_all:
        head += f" · {answered_all} of {asked_all} questions answered right"
    colour = GREEN if total_all and done_all == total_all else AMBER if done_all else GREY
    body = (f'<div class="course-card course-progress" style="--c:{colour}"><h4>{head}</h4>'
            f"{_bar(done_all, total_all)} {done_all}/{total_all}"
            f"<table>{''.join(rows)}</table></div>")
    return Rendered(body, "\n".join([head, *lines]))
