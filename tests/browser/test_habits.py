"""A learner's habits in a real browser: nothing lost, nothing stale.

JupyterLab runs as `make lab` sets it up (the learner's own copies of the lessons in
workspace/notebooks/). On lesson 00 a learner types their answers, then: Run All twice;
restarts the kernel and checks; edits an exercise cell without running it and checks; runs
Run All on a blank copy of the lesson after passing; saves a wrong answer and restores the
previous version. Then lesson 01 after a restart. Every step shows the expected message and
the learner's files survive. Screenshots: build/screenshots/lab-habits-*.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("playwright", reason="playwright is not installed")
from playwright.sync_api import expect

from course.learner import save
from tests.browser.conftest import REPO, _spawn, _stop, _wait_ready
from tests.browser.test_lab_e2e import KERNEL_IDLE, PANEL, VISIBLE_TEXT, new_page

if TYPE_CHECKING:
    from tests.browser.conftest import Lab

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

LESSON = "00-welcome.ipynb"
HELPERS = "src/utils/helpers.py"
PROMPT = re.compile(r"^\[(\d+)\]:$")


def answers(lesson: str) -> dict[str, str]:
    """The solution's text of each file the lesson saves (what a learner types)."""
    return dict(save.saved_cells(REPO / "solutions" / lesson))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    started = _spawn(tmp_path_factory.mktemp("lab-habits"), workspace_in_root=True)
    try:
        _wait_ready(started)
        yield started
    finally:
        _stop(started)


class Notebook:
    """One notebook open in Lab, driven with the keyboard as a learner would."""

    def __init__(self, page, lab: Lab, path: str, shots: Path) -> None:
        self.page, self.lab, self.path, self.shots = page, lab, path, shots
        self.cells = json.loads((lab.root / path).read_text())["cells"]
        page.goto(lab.url(path, re.sub(r"\W", "-", path)))
        expect(page.locator(f"{PANEL} .jp-Cell")).to_have_count(len(self.cells), timeout=30_000)
        self.kernel = page.locator(".jp-StatusBar-TextItem[title^='Change kernel']")
        expect(self.kernel).to_have_text(KERNEL_IDLE, timeout=60_000)

    def index(self, startswith: str) -> int:
        for n, cell in enumerate(self.cells):
            if "".join(cell["source"]).startswith(startswith):
                return n
        raise AssertionError(f"no cell starts with {startswith!r} in {self.path}")

    def cell(self, index: int):
        return self.page.locator(f"{PANEL} .jp-Cell").nth(index)

    def type_into(self, index: int, text: str) -> None:
        editor = self.cell(index).locator(".cm-content")
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)

    def prompt(self, index: int) -> str:
        return self.cell(index).locator(".jp-InputPrompt").first.inner_text().strip()

    def run(self, index: int) -> str:
        """Run one cell (Shift+Enter) and return what it shows."""
        before = self.prompt(index)
        self.cell(index).locator(".cm-content").click()
        self.page.keyboard.press("Shift+Enter")
        self.page.wait_for_function(
            """([sel, n, before]) => {
                 const p = document.querySelectorAll(sel + ' .jp-Cell')[n]
                   .querySelector('.jp-InputPrompt').textContent.trim();
                 return /^\\[\\d+\\]:$/.test(p) && p !== before; }""",
            arg=[PANEL, index, before], timeout=60_000)
        expect(self.kernel).to_have_text(KERNEL_IDLE, timeout=60_000)
        return self.output(index)

    def output(self, index: int) -> str:
        outputs = self.cell(index).locator(".jp-OutputArea-output")
        return "\n".join(outputs.nth(n).evaluate(VISIBLE_TEXT) for n in range(outputs.count()))

    def menu(self, menu: str, command: str) -> None:
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(f"^{menu}$")).click()
        self.page.locator(f".lm-Menu-item[data-command='{command}']").click()

    def run_all(self) -> None:
        """Run > Run All Cells, until the kernel is idle again (a failing cell stops it)."""
        self.menu("Run", "runmenu:run-all")
        self.page.wait_for_timeout(500)
        expect(self.kernel).to_have_text(KERNEL_IDLE, timeout=120_000)
        self.page.wait_for_function(
            """sel => ![...document.querySelectorAll(sel + ' .jp-InputPrompt')]
                 .some(p => p.textContent.includes('*'))""", arg=PANEL, timeout=120_000)

    def restart(self) -> None:
        self.menu("Kernel", "kernelmenu:restart")
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        expect(self.kernel).to_have_text(KERNEL_IDLE, timeout=60_000)

    def save_file(self) -> None:
        self.menu("File", "docmanager:save")
        expect(self.page.locator(".lm-TabBar-tab.lm-mod-current.jp-mod-dirty")).to_have_count(0)

    def shot(self, name: str, index: int | None = None) -> None:
        target = self.page if index is None else self.cell(index)
        if index is not None:
            target.scroll_into_view_if_needed()
        target.screenshot(path=self.shots / f"lab-habits-{name}.png")


def test_a_learners_habits_lose_nothing(browser, lab: Lab, screenshots: Path) -> None:
    page = new_page(browser)
    ws = lab.workspace
    mine = f"workspace/notebooks/{LESSON}"
    assert (lab.root / mine).is_file(), "make lab's set-up did not copy the lesson for the learner"
    texts = answers(LESSON)
    try:
        nb = Notebook(page, lab, mine, screenshots)
        exercise_cells = {path: nb.index(f"%%save {path}") for path in texts}
        for path, index in exercise_cells.items():  # the learner writes each answer
            nb.type_into(index, f"%%save {path}\n{texts[path]}")
        nb.save_file()

        # 1. Run All, twice: the set-up cell and every other cell are safe to run again.
        for attempt in (1, 2):
            nb.run_all()
            for n, cell in enumerate(nb.cells):
                if cell["cell_type"] == "code":
                    errors = nb.cell(n).locator("[data-mime-type='application/vnd.jupyter.stderr']")
                    assert errors.count() == 0, f"Run All #{attempt}, cell {n}: {nb.output(n)}"
            assert "all 6 checks pass" in nb.output(nb.index('check("0.1")'))
        nb.shot("run-all-twice")
        saved_answer = (ws / HELPERS).read_text()

        # 2. Restart, then check straight away: no NameError, the kernel loads the course.
        nb.restart()
        check = nb.index('check("0.1")')
        shown = nb.run(check)
        assert "NameError" not in shown and "all 6 checks pass" in shown, shown
        assert "Checked: src/utils/helpers.py saved" in shown
        nb.shot("restart-then-check", check)

        # 3. Edit the exercise cell, save the notebook, check without running the cell.
        cell = exercise_cells[HELPERS]
        nb.type_into(cell, f"%%save {HELPERS}\n{texts[HELPERS]}\n# edited, not run yet\n")
        nb.save_file()
        shown = nb.run(check)
        assert "changed after the file was saved: run that cell first" in shown, shown
        nb.shot("edited-not-saved", check)
        assert (ws / HELPERS).read_text() == saved_answer  # the check judged the saved file

        # 4. Run All on a blank copy of the lesson: the learner's answers are kept.
        page.goto(lab.url(f"notebooks/{LESSON}", "blank-copy"))
        blank = Notebook(page, lab, f"notebooks/{LESSON}", screenshots)
        blank.run_all()
        first = blank.index(f"%%save {HELPERS}")
        shown = blank.output(first)
        assert f"Kept your {HELPERS}, saved" in shown and "did not replace your file" in shown, \
            shown
        assert len(shown.strip().splitlines()) == 1, f"not one line: {shown}"
        blank.shot("run-all-blank-copy-keeps-answers", first)
        assert (ws / HELPERS).read_text() == saved_answer
        assert "all 6 checks pass" in blank.run(blank.index('check("0.1")'))

        # 5. A wrong answer saved, then the previous version restored.
        page.goto(lab.url(mine, "mine-again"))
        nb = Notebook(page, lab, mine, screenshots)
        wrong = texts[HELPERS].replace("json.dumps(body)", "body")
        assert wrong != texts[HELPERS]
        nb.type_into(cell, f"%%save {HELPERS}\n{wrong}")
        shown = nb.run(cell)
        assert f'restore("{HELPERS}") brings it back' in shown, shown
        assert "checks pass" in nb.run(check) and "all 6" not in nb.output(check)
        scratch = nb.index("from course import workspace")  # a demo cell, reused as scratch
        nb.type_into(scratch, f'restore("{HELPERS}")')
        shown = nb.run(scratch)
        assert f"Restored {HELPERS} to the version saved at" in shown, shown
        nb.shot("restore", scratch)
        assert (ws / HELPERS).read_text() == saved_answer
        assert "all 6 checks pass" in nb.run(check)
    finally:
        page.context.close()


def test_lesson01_after_a_restart(browser, lab: Lab, screenshots: Path) -> None:
    """Lesson 01's copy: restart, then its first check gives a verdict, not a NameError, and
    a demo that needs an unfinished exercise says which exercise to finish first."""
    lesson = next(p.name for p in (REPO / "notebooks").glob("01-*.ipynb"))
    page = new_page(browser)
    try:
        nb = Notebook(page, lab, f"workspace/notebooks/{lesson}", screenshots)
        nb.restart()
        check = nb.index('check("1.2")')
        shown = nb.run(check)
        assert "NameError" not in shown and "Exercise 1.2" in shown, shown
        nb.shot("lesson01-restart-then-check", check)
    finally:
        page.context.close()
