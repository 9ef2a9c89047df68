"""End to end, in a real browser: the lessons as a learner sees them in JupyterLab.

A headless Chromium opens lesson 00 (the solution, where every check passes, and the learner
copy, where every check fails), then the first content lesson, runs all cells from the Run
menu, and asserts on what is on screen: each check is a rendered widget (not the text
fallback) with the right verdict, hints open on click, progress() draws its table, and in
JupyterLab a failed check shows its verdict without raising. Screenshots: build/screenshots/.

    .venv/bin/python -m pytest -q tests/browser -p no:randomly
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("playwright", reason="playwright is not installed: "
                    "pip install -r requirements.txt")
from playwright.sync_api import expect

expect.set_options(timeout=15_000)  # a busy CI machine renders slowly; 5 s is Playwright's

if TYPE_CHECKING:
    from conftest import Lab

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser

KERNEL_IDLE = re.compile(r"^Python 3 \(ipykernel\) \| Idle$")
CHECK_ID = re.compile(r"""^\s*check\(\s*["']([^"']+)["']""", re.M)
PROGRESS_CALL = re.compile(r"^\s*progress\(", re.M)
SOLUTION_HEAD = re.compile(r"^✔ Exercise (?P<id>\S+) · .+: all (?P<n>\d+) checks pass$")
LEARNER_HEAD = re.compile(r"^✘ Exercise (?P<id>\S+) · .+: (?P<ok>\d+) of (?P<n>\d+) checks pass$")
PROGRESS_HEAD = re.compile(r"^Course progress: (?P<ok>\d+) of (?P<n>\d+) exercises pass( · .*)?$")
# The notebook panel on screen (a hidden tab keeps its DOM).
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
STDERR_OUTPUT = "[data-mime-type='application/vnd.jupyter.stderr']"
TEXT_OUTPUT = "[data-mime-type='text/plain']"
# An output's text without its <style> (innerText is empty for cells out of view).
VISIBLE_TEXT = """(el) => { const copy = el.cloneNode(true);
  copy.querySelectorAll('style, script').forEach(e => e.remove());
  return copy.textContent.trim(); }"""
NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# The page height that shows the notebook from its top to the end of its last cell.
FULL_HEIGHT = """(sel) => {
  const outer = document.querySelector(sel + ' .jp-WindowedPanel-outer');
  outer.scrollTop = 0;
  const cells = outer.querySelectorAll('.jp-Cell');
  const bottom = cells[cells.length - 1].getBoundingClientRect().bottom;
  return Math.ceil(bottom + (window.innerHeight - outer.getBoundingClientRect().bottom));
}"""
ALL_PROMPTS_NUMBERED = """(sel) => {
  const prompts = [...document.querySelectorAll(sel + ' .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
}"""


def content_lessons() -> list[Path]:
    return sorted(p for p in (REPO / "solutions").glob("[0-9][0-9]-*.ipynb")
                  if not p.name.startswith("00-"))


@dataclass
class NotebookRun:
    """A notebook opened in Lab and run to the end from the Run menu."""

    page: object  # playwright Page
    cells: list[dict]
    slug: str
    shots: Path
    saved: list[Path] = field(default_factory=list)
    outputs: list[list[dict]] = field(default_factory=list)  # per cell, as saved by Lab

    def cell(self, index: int):
        return self.page.locator(f"{PANEL} .jp-Cell").nth(index)

    def check_cells(self) -> list[tuple[int, list[str]]]:
        return [(i, CHECK_ID.findall(c["source"])) for i, c in enumerate(self.cells)
                if c["cell_type"] == "code" and CHECK_ID.search(c["source"])]

    def progress_cells(self) -> list[int]:
        return [i for i, c in enumerate(self.cells)
                if c["cell_type"] == "code" and PROGRESS_CALL.search(c["source"])]

    def shot(self, locator, name: str) -> None:
        path = self.shots / f"{self.slug}-{name}.png"
        locator.screenshot(path=path)
        self.saved.append(path)

    def describe(self, index: int) -> str:
        """What a cell shows, for failure messages."""
        cell = self.cell(index)
        outputs = cell.locator(".jp-OutputArea-output")
        parts = [f"cell {index}: {self.cells[index]['source'][:80]!r}"]
        for n in range(outputs.count()):
            out = outputs.nth(n)
            mime = out.get_attribute("data-mime-type")
            parts.append(f"  [{mime}] {out.evaluate(VISIBLE_TEXT)[:600]}")
        return "\n".join(parts)

    def full_screenshot(self) -> None:
        """The whole notebook in one picture, from the top: a viewport tall enough for every
        cell (off-screen cells are laid out only once in view: grow it until the end fits)."""
        page, size = self.page, self.page.viewport_size
        height = size["height"]
        for _ in range(5):
            needed = page.evaluate(FULL_HEIGHT, PANEL)
            if needed <= height:
                break
            height = min(needed + 40, 20000)
            page.set_viewport_size({"width": size["width"], "height": height})
            page.evaluate(NEXT_FRAME)
        page.wait_for_timeout(300)
        path = self.shots / f"{self.slug}-full.png"
        page.screenshot(path=path)
        self.saved.append(path)
        page.set_viewport_size(size)


def reveal(locator) -> None:
    """Scroll into view, as a learner would, and let the page lay it out: Lab skips the
    rendering of off-screen cells, so until the next frame their innerText is empty."""
    locator.scroll_into_view_if_needed()
    locator.page.evaluate(NEXT_FRAME)
    expect(locator).to_be_visible()
    expect(locator).not_to_have_text("")


def new_page(browser):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    return page


def run_notebook(page, lab: Lab, notebook: str, slug: str, shots: Path, *,
                 from_file_browser: bool = False) -> NotebookRun:
    """Open `notebook` (a path under the server root) in Lab, by URL or, in a Lab already
    open, by a double click in the file browser; wait for its kernel; Run > Run All Cells."""
    cells = json.loads((lab.root / notebook).read_text())["cells"]
    for cell in cells:  # nbformat stores source as a list of lines or as one string
        cell["source"] = "".join(cell["source"])
    run = NotebookRun(page, cells, slug, shots)
    name = Path(notebook).name
    if from_file_browser:
        page.locator(".jp-DirListing-item", has_text=name).dblclick()
    else:
        page.goto(lab.url(notebook, slug))
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_have_text(
        name, timeout=30_000)
    expect(page.locator(f"{PANEL} .jp-Cell")).to_have_count(len(cells), timeout=30_000)
    # Run All before the kernel exists runs nothing (or starts two kernels): wait for the
    # status bar, not the toolbar's indicator, which says idle before any kernel exists.
    kernel = page.locator(".jp-StatusBar-TextItem[title^='Change kernel']")
    expect(kernel).to_have_text(KERNEL_IDLE, timeout=60_000)
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']", has_text="Run All Cells").click()
    page.wait_for_function(ALL_PROMPTS_NUMBERED, arg=PANEL, timeout=120_000)
    expect(kernel).to_have_text(KERNEL_IDLE)
    run.outputs = save_and_read_outputs(page, lab.root / notebook)
    return run


def save_and_read_outputs(page, path: Path) -> list[list[dict]]:
    """File > Save Notebook, then each cell's outputs as saved. On screen, an exception and a
    log line on stderr look alike (both are application/vnd.jupyter.stderr); here they differ."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^File$")).click()
    page.locator(".lm-Menu-item[data-command='docmanager:save']").click()
    deadline = time.monotonic() + 20
    while True:
        try:
            cells = json.loads(path.read_text())["cells"]
        except json.JSONDecodeError:  # read while Lab was still writing it: read again
            cells = [{"cell_type": "code"}]
        if all(c.get("execution_count") for c in cells if c["cell_type"] == "code"):
            return [c.get("outputs", []) for c in cells]
        assert time.monotonic() < deadline, f"{path.name} was not saved with its outputs"
        time.sleep(0.1)


def errors(run: NotebookRun, index: int) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for o in run.outputs[index]
            if o.get("output_type") == "error"]


def assert_no_error(run: NotebookRun, index: int, *, stderr: bool = False) -> None:
    """No exception in the cell (and with stderr=True, nothing on stderr either)."""
    assert not errors(run, index), f"{run.slug}: {errors(run, index)}\n{run.describe(index)}"
    if stderr:
        assert run.cell(index).locator(STDERR_OUTPUT).count() == 0, (
            f"{run.slug}: stderr output\n{run.describe(index)}")


def verdict_widgets(run: NotebookRun, index: int, ids: list[str]):
    """The cell's verdicts, rendered as ipywidgets HTML (the text fallback is a failure)."""
    cell = run.cell(index)
    widgets = cell.locator(
        ".jp-OutputArea-output .jupyter-widgets.widget-html:has(.course-verdict)")
    expect(widgets, f"no rendered verdict widget in {run.slug}\n{run.describe(index)}"
           ).to_have_count(len(ids), timeout=15_000)
    assert cell.locator(f".jp-OutputArea-output{TEXT_OUTPUT}").count() == 0, (
        f"the text fallback is shown\n{run.describe(index)}")
    return widgets


def assert_verdicts(run: NotebookRun, *, passing: bool) -> dict[str, str]:
    """Every check cell shows one verdict widget per check(...) call, all passing (solution)
    or all failing with a message and a hint that opens on click (learner copy)."""
    checks = run.check_cells()
    assert checks, f"{run.slug} has no check cells"
    statuses = {}
    for index, ids in checks:
        # No traceback under a check: in JupyterLab a failed check shows its verdict and does
        # not raise (the toolkit sees JPY_SESSION_NAME, which jupyter_server sets for its
        # kernels; the server here runs without COURSE_RAISE).
        assert_no_error(run, index, stderr=True)
        widgets = verdict_widgets(run, index, ids)
        for n, ex_id in enumerate(ids):
            widget = widgets.nth(n)
            verdict = widget.locator(".course-verdict")
            reveal(verdict)
            text = verdict.inner_text() or verdict.text_content() or ""
            # Content read as textContent: Lab may skip rendering the cell again (a layout shift
            # above it under load), and then its innerText is empty for a moment.
            heading = (verdict.locator("h4").text_content() or "").strip()
            head = (SOLUTION_HEAD if passing else LEARNER_HEAD).match(heading)
            assert head and head["id"] == ex_id, (
                f"cell {index}, check({ex_id!r}), heading {heading!r}:\n{text}")
            total = int(head["n"])
            failing = 0 if passing else total - int(head["ok"])
            assert total >= 1 and (passing or failing >= 1), text
            marks = [m.strip() for m in verdict.locator(".course-row b").all_text_contents()]
            assert sorted(marks) == sorted(["✔"] * (total - failing) + ["✘"] * failing), text
            messages = verdict.locator(".course-msg").all_text_contents()
            assert all(m.strip() for m in messages), text
            # one message per distinct cause: said once when failures share it (a placeholder)
            assert (1 <= len(messages) <= failing) if failing else not messages, text
            assert len(set(messages)) == len(messages), f"a message said twice:\n{text}"
            run.shot(widget, f"check-{ex_id}")
            statuses[ex_id] = "passed" if passing else "failed"
            if passing:
                assert verdict.locator("details").count() == 0, f"a hint on a pass:\n{text}"
                assert (verdict.locator(".course-checked").text_content() or "").startswith(
                    "Checked: "), \
                    f"the verdict does not say which saved file it checked:\n{text}"
            else:
                assert_hint_opens(verdict.locator("details"), text)
                run.shot(widget, f"check-{ex_id}-hint-open")
    return statuses


def assert_hint_opens(hints, text: str) -> None:
    """A <details><summary>Hint</summary>...: closed at first, its text shows on a click."""
    assert hints.count() >= 1, f"no hint for a failing check:\n{text}"
    hint = hints.first
    summary = hint.locator("summary")
    assert summary.inner_text().strip() == "Hint"
    # Closed, only "Hint" shows (innerText leaves out what is not rendered).
    assert not hint.evaluate("d => d.open")
    assert hint.inner_text().strip() == "Hint", "the hint shows before a click"
    closed = hint.bounding_box()["height"]
    summary.click()
    expect(hint).to_have_js_property("open", True)
    reveal(hint)
    shown = hint.inner_text().strip().removeprefix("Hint").strip()
    assert len(shown) > 10, f"the hint text stays hidden after a click: {shown!r}"
    assert hint.bounding_box()["height"] > closed + 5, "the open hint takes no room"


def assert_progress(run: NotebookRun, statuses: dict[str, str]) -> None:
    """progress() draws its table in a widget, with these exercises in these states."""
    cells = run.progress_cells()
    assert cells, f"{run.slug} has no progress() cell"
    for index in cells:
        assert_no_error(run, index, stderr=True)
        widget = run.cell(index).locator(
            ".jp-OutputArea-output .jupyter-widgets.widget-html:has(.course-progress)")
        expect(widget, f"no rendered progress widget\n{run.describe(index)}").to_have_count(1)
        view = widget.locator(".course-progress")
        reveal(view)
        text = view.inner_text()
        head = PROGRESS_HEAD.match(view.locator("h4").inner_text().strip())
        assert head, text
        assert int(head["ok"]) == sum(s == "passed" for s in statuses.values()), text
        assert int(head["n"]) >= len(statuses), text
        for ex_id, status in statuses.items():
            chip = view.locator(f".course-chip[title^='{ex_id} ']")
            expect(chip).to_have_count(1)
            assert chip.get_attribute("title").endswith(f": {status}"), chip.get_attribute("title")
        assert view.locator("table tr").count() >= 1, text
        run.shot(widget, "progress")


def assert_runs_clean(run: NotebookRun) -> None:
    """No exception anywhere, except in cells tagged raises-exception."""
    for index, cell in enumerate(run.cells):
        if cell["cell_type"] == "code" and "raises-exception" not in cell.get(
                "metadata", {}).get("tags", []):
            assert_no_error(run, index)


def kernel_env(lab: Lab, name: str) -> list[str | None]:
    """`name` in the environment of each kernel the server runs."""
    import psutil

    kernels = [p for p in psutil.Process(lab.process.pid).children()
               if "ipykernel_launcher" in " ".join(p.cmdline())]
    return [p.environ().get(name) for p in kernels]


@pytest.fixture(scope="module")
def lesson00_solution(browser, labs: dict[str, Lab], screenshots: Path
                      ) -> Iterator[NotebookRun]:
    page = new_page(browser)
    yield run_notebook(page, labs["solutions"], "solutions/00-welcome.ipynb",
                       "lab-00-solution", screenshots)
    page.context.close()


def test_lesson00_solution_every_check_passes(labs: dict[str, Lab],
                                              lesson00_solution: NotebookRun) -> None:
    run = lesson00_solution
    assert_runs_clean(run)
    # %%save wrote to the server's COURSE_WORKSPACE, never to the learner's real workspace.
    assert (labs["solutions"].workspace / "src" / "utils" / "helpers.py").is_file()
    assert_progress(run, assert_verdicts(run, passing=True))
    run.full_screenshot()


def test_lesson00_learner_copy_checks_fail_without_raising(browser, labs: dict[str, Lab],
                                                           screenshots: Path) -> None:
    page = new_page(browser)
    try:
        run = run_notebook(page, labs["learner"], "notebooks/00-welcome.ipynb",
                           "lab-00-learner", screenshots)
        assert_runs_clean(run)
        exercise_cells = [index for index, cell in enumerate(run.cells)
                          if "exercise" in cell.get("metadata", {}).get("tags", [])]
        assert len(exercise_cells) == 3, exercise_cells
        for index in exercise_cells:  # the placeholder is what stops an exercise
            assert any("Exercise" in e for e in errors(run, index)), run.describe(index)
        # What lets a failed check show its verdict without raising: jupyter_server gives its
        # kernels JPY_SESSION_NAME (the notebook's path); COURSE_RAISE is not set here.
        session_names = kernel_env(labs["learner"], "JPY_SESSION_NAME")
        assert session_names and all(v.endswith("notebooks/00-welcome.ipynb")
                                     for v in session_names), session_names
        assert kernel_env(labs["learner"], "COURSE_RAISE") == [None] * len(session_names)
        assert_progress(run, assert_verdicts(run, passing=False))
        run.full_screenshot()
    finally:
        page.context.close()


def test_first_content_lesson_in_lab(labs: dict[str, Lab], lesson00_solution: NotebookRun,
                                     screenshots: Path) -> None:
    lessons = content_lessons()
    if not lessons:
        pytest.skip("no content lesson yet: solutions/ has no NN-*.ipynb besides 00 "
                    "(this test picks up the first one, e.g. solutions/01-*.ipynb)")
    lesson = lessons[0]
    # Where lesson 00's solution ran (same server, workspace and page): lessons build on it.
    run = run_notebook(lesson00_solution.page, labs["solutions"], f"solutions/{lesson.name}",
                       f"lab-{lesson.stem[:2]}-solution", screenshots, from_file_browser=True)
    assert_runs_clean(run)
    statuses = assert_verdicts(run, passing=True)
    if run.progress_cells():  # lesson 00's exercises passed in this workspace too
        earlier = {ex_id: "passed" for _, ids in lesson00_solution.check_cells() for ex_id in ids}
        assert_progress(run, {**earlier, **statuses})
    run.full_screenshot()
