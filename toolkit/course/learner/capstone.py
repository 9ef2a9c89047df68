"""Lesson 11's views: the whole service's flow stage by stage, the guideline's traps found in a
project, and a certificate-style summary the learner keeps.

    from course.learner import capstone

    stages = capstone.Stages("The users service on moto")
    with stages.stage("POST /users -> the users table") as stage:
        ...                          # an AssertionError or any error marks the stage failed
        stage.note("201, user 4f1c...")
    stages                           # one view: a row per stage, passed or not, and why

    capstone.find_traps(root)        # [Trap(rule, path, line, text)]: the guideline's traps
    capstone.certificate()           # the summary, shown and written to CAPSTONE.md

The traps are read from the code (ast), not run: `str(e)` (or any text of a caught exception)
in a response, `int()` on a raw query-string value, moto's removed `mock_dynamodb`, whole events
in the logs (`log_event=True`, or the event passed to a log call), a keep-warm branch or
pinger. A check proves the
behaviour; these rules find the habit, in every file, before it ships.
"""

from __future__ import annotations

import ast
import html
import io
import re
import statistics
import time
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from course import workspace
from course.learner.views import FAIL, GREEN, GREY, PASS, RED, TODO, Rendered, markdown_inline

__all__ = ["RULES", "Stage", "Stages", "Trap", "certificate", "find_traps", "init_durations",
           "memory_settings", "package_sizes", "project_tree", "stages_view", "traps_view"]

# --- stages of a flow --------------------------------------------------------------------


@dataclass
class Stage:
    """One stage of a flow: what was tried, whether it did what it should, and what happened."""

    name: str
    passed: bool
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _StageNotes:
    def __init__(self, notes: list[str]) -> None:
        self._notes = notes

    def note(self, text: str) -> None:
        """Add a line to the stage's row (what it saw: a status, a count, a key)."""
        self._notes.append(str(text))


class Stages:
    """Stages of a flow, recorded as they run and shown as one view.

    A stage that raises is recorded as failed with the error's first line, and the flow goes
    on: one view then says which stages work and which do not. An exercise's placeholder
    (NotImplementedError "Exercise N.M ...") and KeyboardInterrupt still stop the cell.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.stages: list[Stage] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[_StageNotes]:
        notes: list[str] = []
        start = time.perf_counter()
        passed = True
        try:
            yield _StageNotes(notes)
        except NotImplementedError as exc:
            if "Exercise " in str(exc):
                raise  # an unfinished exercise: say so, not a stage that failed
            passed = False
            notes.append(_error_line(exc))
        except Exception as exc:  # noqa: BLE001 - the view reports it; the flow goes on
            passed = False
            notes.append(_error_line(exc))
        self.stages.append(Stage(name, passed, notes, round(time.perf_counter() - start, 3)))

    @property
    def passed(self) -> bool:
        return bool(self.stages) and all(s.passed for s in self.stages)

    def view(self) -> Rendered:
        return stages_view(self.title, self.stages)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return self.view()._repr_mimebundle_(include, exclude)

    def __repr__(self) -> str:
        return self.view().plain


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, AssertionError) and str(exc):
        return str(exc)
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def stages_view(title: str, stages: Iterable[Stage]) -> Rendered:
    """One card: a row per stage (✔/✘, its name, its time), its notes under it."""
    stages = list(stages)
    passed = sum(s.passed for s in stages)
    ok = bool(stages) and passed == len(stages)
    head = f"{PASS if ok else FAIL} {title}: {passed} of {len(stages)} stages work"
    rows, lines = [], [head]
    for s in stages:
        mark, colour = (PASS, GREEN) if s.passed else (FAIL, RED)
        rows.append(f'<div class="course-row"><b style="color:{colour}">{mark}</b> '
                    f"{html.escape(s.name)} <small>({s.seconds:.2f} s)</small></div>")
        lines.append(f"  {mark} {s.name} ({s.seconds:.2f} s)")
        for note in s.notes:
            rows.append(f'<div class="course-msg">{markdown_inline(note)}</div>')
            lines.append(f"      {note}")
    body = (f'<div class="course-card course-stages" style="--c:{GREEN if ok else RED}">'
            f"<h4>{html.escape(head)}</h4>{''.join(rows)}</div>")
    return Rendered(body, "\n".join(lines))


# --- the guideline's traps, read from the code ---------------------------------------------

RULES = {
    "str(e)": "exception text in a response: the client learns your internals",
    "int(query)": "int() on a raw query-string value: bad input becomes a 500",
    "mock_dynamodb": "moto's per-service mocks are gone since moto 5: use mock_aws",
    "log_event": "whole events in the logs (log_event=True, or the event logged): personal "
                 "data in CloudWatch",
    "warmer": "a keep-warm branch or pinger: it does not prevent cold starts",
}
# Powertools' HTTP errors: the message of one raised in a route becomes the response body.
HTTP_ERRORS = {"BadRequestError", "NotFoundError", "ServiceError", "UnauthorizedError",
               "InternalServerError", "ForbiddenError", "RequestEntityTooLargeError",
               "RequestTimeoutError", "ServiceUnavailableError"}
# Ways to turn an exception into text: str(e), repr(e), format(e), traceback.format_exc()...
_TEXT_CALLS = {"str", "repr", "format"}
_TRACEBACK_TEXT = {"format_exc", "format_exception", "format_exception_only", "format_tb"}
# Calls through which a raw value stays raw (a dict's get, a string's methods).
_RAW_METHODS = {"get", "pop", "setdefault", "strip", "lstrip", "rstrip", "lower", "upper",
                "casefold", "replace", "removeprefix", "removesuffix", "__getitem__"}
_QUERY = re.compile(r"query", re.I)
_WARM = re.compile(r"warm", re.I)
_TEMPLATES = ("template.yaml", "template.yml")  # a SAM template (lesson 08)


@dataclass(frozen=True)
class Trap:
    """One trap found: which rule, where (a path relative to the project, a line), the code."""

    rule: str
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}: {self.text}"


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _exception_text(node: ast.AST, exc_names: set[str], tainted: set[str]) -> bool:
    """True when `node` holds the text of a caught exception: str(e), f"{e}", e.args,
    traceback.format_exc(), "%s" % e, or a name assigned from one of those."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in tainted:
            return True
        if isinstance(sub, ast.Call):
            func = sub.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            if name in _TRACEBACK_TEXT:
                return True
            if name in _TEXT_CALLS and any(_names_in(a) & exc_names for a in sub.args):
                return True
            arguments = [*sub.args, *(k.value for k in sub.keywords)]
            if name == "format" and isinstance(func, ast.Attribute) and any(
                    _names_in(a) & exc_names for a in arguments):
                return True
        if isinstance(sub, ast.FormattedValue) and _names_in(sub.value) & exc_names:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr == "args" and \
                isinstance(sub.value, ast.Name) and sub.value.id in exc_names:
            return True
        if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Mod) and \
                isinstance(sub.left, ast.Constant) and _names_in(sub.right) & exc_names:
            return True
    return False


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else (
        func.attr if isinstance(func, ast.Attribute) else "")


def _is_response_call(call: ast.Call) -> bool:
    name = _call_name(call)
    return "response" in name.lower() or name in HTTP_ERRORS


def _leaks_in(body: list[ast.stmt], exc_names: set[str]) -> Iterator[ast.AST]:
    """Statements of `body` that put the text of `exc_names` in a response: a return, a raised
    HTTP error, a call building a response. Names assigned from such text count too."""
    tainted: set[str] = set()
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and \
                    _exception_text(node.value, exc_names, tainted):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    tainted |= _names_in(target)
            if isinstance(node, ast.Return) and node.value is not None and \
                    _exception_text(node.value, exc_names, tainted):
                yield node
            elif isinstance(node, ast.Raise) and node.exc is not None and \
                    isinstance(node.exc, ast.Call) and _call_name(node.exc) in HTTP_ERRORS and \
                    _exception_text(node.exc, exc_names, tainted):
                yield node
            elif isinstance(node, ast.Call) and _is_response_call(node) and \
                    _exception_text(node, exc_names, tainted):
                yield node


def _exception_handler_param(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The exception parameter of a Powertools exception handler (@app.exception_handler)."""
    for decorator in func.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        if call is not None and _call_name(call) == "exception_handler" and func.args.args:
            return func.args.args[0].arg
    return None


def _raw_query(node: ast.AST, tainted: set[str]) -> bool:
    """True when `node` is a query-string value as the event holds it: not passed through
    anything but a dict's get or a string method (a validation call ends it)."""
    if isinstance(node, ast.Name):  # a name holds a raw value when one was assigned to it
        return node.id in tainted
    if isinstance(node, ast.Attribute):
        return bool(_QUERY.search(node.attr)) or _raw_query(node.value, tainted)
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and \
                _QUERY.search(key.value):
            return True
        return _raw_query(node.value, tainted)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if _QUERY.search(node.func.attr):  # e.g. get_query_string_value("limit")
            return True
        if node.func.attr in _RAW_METHODS:  # event.get("queryStringParameters"), params.get(...)
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and \
                    _QUERY.search(first.value):
                return True
            return _raw_query(node.func.value, tainted)
        return False
    if isinstance(node, ast.BoolOp):
        return any(_raw_query(value, tainted) for value in node.values)
    if isinstance(node, ast.IfExp):
        return _raw_query(node.body, tainted) or _raw_query(node.orelse, tainted)
    return False


_LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}


def _event_names(tree: ast.AST) -> set[str]:
    """What handlers call their event: "event", and the first parameter of every function
    whose second one is "context"."""
    names = {"event"}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            params = node.args.args
            if len(params) >= 2 and params[1].arg == "context":
                names.add(params[0].arg)
    return names


def _logs_whole_event(call: ast.Call, names: set[str]) -> bool:
    """A log call (logger.info(...), print(...)) given the whole event: as an argument, in an
    f-string, through json.dumps/str/repr, or as a value of extra={...}. event["path"] or
    event.get("path") are parts of it, not the whole."""
    func = call.func
    if not ((isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS) or
            (isinstance(func, ast.Name) and func.id == "print")):
        return False
    parts: set[int] = set()  # ids of Name nodes used as the base of event[...] or event.x
    for node in ast.walk(call):
        if isinstance(node, ast.Subscript | ast.Attribute) and isinstance(node.value, ast.Name):
            parts.add(id(node.value))
    return any(isinstance(node, ast.Name) and node.id in names and id(node) not in parts
               for argument in [*call.args, *(k.value for k in call.keywords)]
               for node in ast.walk(argument))


def _is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value not in (False, None, 0, "")


def _warm_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and \
        bool(_WARM.search(node.value))


def _python_traps(path: Path, relative: str, *, app: bool) -> list[Trap]:
    """Traps in one Python file. app: a file of src/ (all rules), else only mock_dynamodb."""
    source = path.read_text("utf-8", "replace")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    found: list[Trap] = []

    def add(rule: str, node: ast.AST) -> None:
        number = getattr(node, "lineno", 1)
        text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
        found.append(Trap(rule, relative, number, text[:160]))

    for node in ast.walk(tree):
        moto_names = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            moto_names = [a.name for a in node.names]
        if any(n == "mock_dynamodb" or (n.startswith("mock_") and n != "mock_aws")
               for n in moto_names) or \
                (isinstance(node, ast.Attribute) and node.attr == "mock_dynamodb") or \
                (isinstance(node, ast.Name) and node.id == "mock_dynamodb"):
            add("mock_dynamodb", node)
    if not app:
        return found
    event_names = _event_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):  # traceback.format_exc() needs no name
            for leak in _leaks_in(node.body, {node.name} if node.name else set()):
                add("str(e)", leak)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            param = _exception_handler_param(node)
            if param:
                for leak in _leaks_in(node.body, {param}):
                    add("str(e)", leak)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
            tainted: set[str] = set()
            for statement in node.body:
                for sub in ast.walk(statement):
                    if isinstance(sub, ast.Assign) and _raw_query(sub.value, tainted):
                        for target in sub.targets:
                            tainted |= _names_in(target)
                    if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and \
                            sub.func.id == "int" and sub.args and \
                            _raw_query(sub.args[0], tainted):
                        add("int(query)", sub)
        if isinstance(node, ast.Call) and _logs_whole_event(node, event_names):
            add("log_event", node)
        if isinstance(node, ast.keyword) and node.arg == "log_event" and _is_true(node.value):
            add("log_event", node.value)
        if isinstance(node, ast.Constant) and node.value == "POWERTOOLS_LOGGER_LOG_EVENT":
            add("log_event", node)
        if isinstance(node, ast.Compare) and any(
                _warm_constant(part) for part in [node.left, *node.comparators]):
            add("warmer", node)
        elif isinstance(node, ast.Subscript) and _warm_constant(node.slice):
            add("warmer", node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "get" and node.args and _warm_constant(node.args[0]):
            add("warmer", node)
    if app and _WARM.search(path.stem):
        found.append(Trap("warmer", relative, 1, f"a module named {path.name}"))
    return sorted(set(found), key=lambda t: (t.rule, t.line))


_LOG_EVENT_ON = re.compile(r"POWERTOOLS_LOGGER_LOG_EVENT\W+(?:true|1)\b", re.I)


def _text_traps(path: Path, relative: str) -> list[Trap]:
    """Traps in a deployment file (Terraform, a SAM template): whole events logged through the
    environment, a schedule that pings a function to keep it warm."""
    found = []
    for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), start=1):
        code = re.split(r"\s(?:#|//)|^\s*(?:#|//)", line, maxsplit=1)[0]
        if re.match(r"\s*description\s*[=:]", code):
            continue
        if _LOG_EVENT_ON.search(code):
            found.append(Trap("log_event", relative, number, line.strip()[:160]))
        if _WARM.search(code):
            found.append(Trap("warmer", relative, number, line.strip()[:160]))
    return found


# The project's own code (the course folder itself is also a project: the reference one).
_PROJECT_PARTS = ("src", "tests/unit", "tests/integration", "scripts")
_SKIPPED_PARTS = {"__pycache__", ".course", ".ipynb_checkpoints", "notebooks", "build",
                  ".venv", "venv", "node_modules", ".terraform", ".git"}


def _files(folder: Path, pattern: str, root: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if p.is_file()
                  and not _SKIPPED_PARTS & set(p.relative_to(root).parts))


def find_traps(project: str | Path | None = None) -> list[Trap]:
    """The guideline's traps in a project: src/ for all of them, its other Python files
    (tests/unit, tests/integration, scripts/, the top folder's) for moto's removed mocks,
    terraform/ and a SAM template for logged events and keep-warm schedules."""
    root = workspace.root(project)
    traps: list[Trap] = []
    python = sorted(p for p in root.glob("*.py") if p.is_file())
    for part in _PROJECT_PARTS:
        if (root / part).is_dir():
            python += _files(root / part, "*.py", root)
    for path in python:
        relative = path.relative_to(root).as_posix()
        traps += _python_traps(path, relative, app=relative.startswith("src/"))
    texts = [root / name for name in _TEMPLATES if (root / name).is_file()]
    if (root / "terraform").is_dir():
        texts += _files(root / "terraform", "*.tf", root)
        texts += _files(root / "terraform", "*.json", root)
    for path in texts:
        traps += _text_traps(path, path.relative_to(root).as_posix())
    return traps


def traps_view(traps: Iterable[Trap], title: str = "The guideline's traps") -> Rendered:
    """One card: each rule, ✔ when nothing breaks it, else every place that does."""
    traps = list(traps)
    clean = not traps
    head = f"{PASS if clean else FAIL} {title}: " + (
        "none found" if clean else f"{len(traps)} found")
    rows, lines = [], [head]
    for rule, why in RULES.items():
        hits = [t for t in traps if t.rule == rule]
        mark, colour = (PASS, GREEN) if not hits else (FAIL, RED)
        rows.append(f'<div class="course-row"><b style="color:{colour}">{mark}</b> '
                    f"<code>{html.escape(rule)}</code>: {html.escape(why)}</div>")
        lines.append(f"  {mark} {rule}: {why}")
        for trap in hits:
            rows.append(f'<div class="course-msg"><code>{html.escape(str(trap))}</code></div>')
            lines.append(f"      {trap}")
    body = (f'<div class="course-card course-traps" style="--c:{GREEN if clean else RED}">'
            f"<h4>{html.escape(head)}</h4>{''.join(rows)}</div>")
    return Rendered(body, "\n".join(lines))


# --- what the certificate reads and measures ----------------------------------------------

# The service's functions (what it is, its handler), in the order the lessons wrote them.
FUNCTIONS = (
    ("users API", "handlers.api_gateway_handler.lambda_handler"),
    ("sign-ups worker", "handlers.sqs_handler.lambda_handler"),
    ("users import", "handlers.s3_handler.lambda_handler"),
    ("sign-ups API", "handlers.signups_api.lambda_handler"),
    ("users report", "handlers.users_report.lambda_handler"),
)
_TREE_FILES = ("pyproject.toml", "requirements-lambda.txt", "build_lambda.py", "Dockerfile",
               "template.yaml")


def project_tree(project: str | Path | None = None) -> list[str]:
    """The project's files as a tree (├──/└── lines): the app, its tests, its deployment."""
    root = workspace.root(project)
    paths: list[Path] = [root / name for name in _TREE_FILES if (root / name).is_file()]
    for part in (*_PROJECT_PARTS, "terraform"):
        folder = root / part
        if folder.is_dir():
            paths += [p for p in folder.rglob("*") if p.is_file() and p.suffix != ".pyc"
                      and not _SKIPPED_PARTS & set(p.relative_to(root).parts)]
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for part in path.relative_to(root).parts:
            node = node.setdefault(part, {})
    lines = [f"{root.name}/"]

    def walk(node: dict[str, Any], prefix: str) -> None:
        names = sorted(node, key=lambda n: (not node[n], n))  # folders first
        for index, name in enumerate(names):
            last = index == len(names) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{name}{'/' if node[name] else ''}")
            walk(node[name], prefix + ("    " if last else "│   "))

    walk(tree, "")
    return lines


def _kb(size: int) -> str:
    return f"{size / 1024:,.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.2f} MB"


def _built(path: Path, root: Path) -> str:
    stamp = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    where = path.parent.relative_to(root).as_posix()
    return f"{_kb(path.stat().st_size)} ({where}/, built {stamp})"


def _build_folder(root: Path) -> Path | None:
    """Where lesson 07's zips are: build/ (build_lambda.py's command line), else build/<arch>/
    (the lesson's notebook builds one per architecture), the Terraform's architecture first."""
    build = root / "build"
    if (build / "function.zip").is_file():
        return build
    variables = root / "terraform" / "variables.tf"
    text = variables.read_text("utf-8", "replace") if variables.is_file() else ""
    chosen = re.search(r'variable\s+"architecture"\s*\{[^}]*?default\s*=\s*"([^"]+)"', text, re.S)
    for arch in ([chosen.group(1)] if chosen else []) + ["arm64", "x86_64"]:
        if (build / arch / "function.zip").is_file():
            return build / arch
    return None


def package_sizes(project: str | Path | None = None) -> list[tuple[str, str]]:
    """(package, its size and where it comes from): lesson 07's function.zip and layer.zip when
    built; else the function zip computed now from src/, and what is missing said."""
    root = workspace.root(project)
    found: list[tuple[str, str]] = []
    folder = _build_folder(root)
    if folder is not None:
        found.append(("function.zip", _built(folder / "function.zip", root)))
    elif (root / "src").is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted((root / "src").rglob("*")):
                if path.is_file() and path.suffix != ".pyc" and "__pycache__" not in path.parts:
                    zipped.write(path, path.relative_to(root / "src").as_posix())
        found.append(("function.zip", f"{_kb(len(buffer.getvalue()))} (src/ zipped now: "
                                      "lesson 07's build has not run in this project)"))
    if folder is not None and (folder / "layer.zip").is_file():
        found.append(("layer.zip", _built(folder / "layer.zip", root)))
    else:
        found.append(("layer.zip", "not built yet: lesson 07's build_lambda.py builds it"))
    return found


_VARIABLE = re.compile(r'variable\s+"memory_size"\s*\{(?P<body>[^}]*)\}', re.S)
_NUMBER = re.compile(r"^\s*default\s*=\s*(\d+)", re.M)
_FUNCTION = re.compile(r'resource\s+"aws_lambda_function"\s+"(?P<name>[^"]+)"')
_MEMORY = re.compile(r"^\s*memory_size\s*=\s*(?P<value>\S+)", re.M)


def memory_settings(project: str | Path | None = None) -> dict[str, str]:
    """Each Lambda function's memory_size as terraform/ declares it: a number, or the
    memory_size variable's default. Empty when there is no Terraform yet (lesson 08)."""
    folder = workspace.root(project) / "terraform"
    texts = [p.read_text("utf-8", "replace") for p in sorted(folder.glob("*.tf"))] \
        if folder.is_dir() else []
    text = "\n".join(texts)
    variable = _VARIABLE.search(text)
    default = _NUMBER.search(variable.group("body")) if variable else None
    settings = {}
    starts = list(_FUNCTION.finditer(text))
    for index, start in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        memory = _MEMORY.search(text, start.end(), end)
        value = memory.group("value") if memory else None
        if value is None:
            settings[start.group("name")] = "128 MB (Lambda's default: no memory_size set)"
        elif value.isdigit():
            settings[start.group("name")] = f"{value} MB"
        elif value == "var.memory_size" and default:
            settings[start.group("name")] = f"{default.group(1)} MB (var.memory_size)"
        else:
            settings[start.group("name")] = value
    return settings


def _functions(root: Path) -> list[tuple[str, str]]:
    """The service's functions whose module the project has."""
    return [(label, handler) for label, handler in FUNCTIONS
            if (root / "src" / (handler.rsplit(".", 1)[0].replace(".", "/") + ".py")).is_file()]


def init_durations(project: str | Path | None = None, *, rounds: int = 3,
                   memory_mb: int = 128) -> dict[str, float | str]:
    """The Init Duration (ms, the median of `rounds` cold starts) of each of the service's
    functions the project has, measured now with course.invoke (the event does not matter:
    INIT runs before the handler); or why it could not be measured."""
    from course.awslambda.invoke import invoke

    root = workspace.root(project)
    measured: dict[str, float | str] = {}
    for label, handler in _functions(root):
        inits = []
        try:
            for _ in range(rounds):
                result = invoke(handler, {"Records": []}, project=root, cold=True,
                                memory_mb=memory_mb, timeout=10)
                if result.init_duration_ms is None:
                    raise RuntimeError((result.error or {}).get("errorMessage", "no init"))
                inits.append(result.init_duration_ms)
        except Exception as exc:  # noqa: BLE001 - the certificate says what went wrong
            measured[label] = f"not measured: {_error_line(exc)}"
            continue
        measured[label] = round(statistics.median(inits), 1)
    return measured


# --- the certificate ---------------------------------------------------------------------

CAPSTONE = "11.3"  # the exercise whose check re-runs every other one
CERTIFICATE = "CAPSTONE.md"


def _checks(root: Path) -> tuple[list[tuple[str, str, list[tuple[str, str, str]]]], str]:
    """(lesson label, lesson time, [(status mark, "id title", "what it proved")]) per lesson,
    and a line on the capstone check."""
    from course.checks import exercises
    from course.learner import progress

    data = progress.load(root)
    titles = exercises.lessons()
    capstone = data.get(CAPSTONE, {})
    rechecked = bool(capstone.get("passed"))
    line = (f"Capstone check {CAPSTONE} passed on {capstone.get('at', '?')}: every check below "
            "passed again on this workspace." if rechecked else
            f"Capstone check {CAPSTONE} has not passed yet: each check below shows its own "
            "latest result.")
    lessons: dict[str, list[tuple[str, str, str]]] = {}
    for ex in exercises.ordered():
        entry = data.get(ex.id)
        passed = rechecked or bool(entry and entry.get("passed"))
        mark = PASS if passed else (FAIL if entry else TODO)
        proved = "; ".join(b.name for b in ex.behaviours)
        lessons.setdefault(ex.lesson, []).append((mark, f"{ex.id} {ex.title}", proved))
    return [(f"{n} {titles.get(n, ('', ''))[0]}".strip(), titles.get(n, ("", ""))[1], items)
            for n, items in sorted(lessons.items())], line


def certificate(project: str | Path | None = None, *, rounds: int = 3,
                measure: bool = True) -> Rendered:
    """A summary of the finished project to keep: its tree, what each check proved, the
    package sizes, each function's measured Init Duration and memory setting. Written to
    CAPSTONE.md in the project (replaced each time) and returned as a view."""
    root = workspace.root(project)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lessons, capstone_line = _checks(root)
    memory = memory_settings(root)
    numbers = [int(m.group()) for v in memory.values() for m in [re.match(r"\d+", v)] if m]
    inits = init_durations(root, rounds=rounds, memory_mb=max(numbers, default=128)) \
        if measure else {label: "not measured" for label, _ in _functions(root)}
    sizes = package_sizes(root)
    tree = project_tree(root)
    proved = sum(mark == PASS for _, _, items in lessons for mark, _, _ in items)
    total = sum(len(items) for _, _, items in lessons)

    md = ["# Certificate · AWS Lambda in Python: the users service", "",
          f"Project `{root}`, summarised {when}.", "", capstone_line,
          f"Checks passed: {proved} of {total}.", "", "## The project", "", "```",
          *tree, "```", "", "## Package", ""]
    md += [f"- {name}: {size}" for name, size in sizes]
    md += ["", "## Cold start and memory", ""]
    for label, handler in _functions(root):
        init = inits.get(label, "")
        init_text = f"{init:.0f} ms" if isinstance(init, float) else str(init)
        md.append(f"- {label} (`{handler}`): Init Duration {init_text}")
    md.append("")
    if memory:
        md += [f"- memory_size of `{name}`: {value}" for name, value in memory.items()]
    else:
        md.append("- memory_size: no aws_lambda_function in terraform/ yet (lesson 08 "
                  "declares them; lesson 10 picks the size)")
    md += ["", "Init Duration: median of cold starts measured on this machine with "
           "course.invoke (Python start and imports; Lambda also downloads and unpacks the "
           "package).", "", "## What each check proved", ""]
    for label, duration, items in lessons:
        md.append(f"### {label}" + (f" ({duration})" if duration else ""))
        md.append("")
        md += [f"- {mark} **{title}**: {what}" for mark, title, what in items]
        md.append("")
    (root / CERTIFICATE).write_text("\n".join(md))

    colour = GREEN if proved == total else GREY
    head = f"Certificate · the users service: {proved} of {total} checks passed"
    rows = [f"<div>{html.escape(capstone_line)}</div>",
            f"<div class='course-checked'>Written to {html.escape(str(root / CERTIFICATE))}, "
            f"{html.escape(when)}</div>",
            "<h4>The project</h4>",
            f"<pre class='course-code'>{html.escape(chr(10).join(tree))}</pre>",
            "<h4>Package, cold start, memory</h4><ul>"]
    rows += [f"<li>{html.escape(name)}: {html.escape(size)}</li>" for name, size in sizes]
    for label, _handler in _functions(root):
        init = inits.get(label, "")
        text = f"{init:.0f} ms" if isinstance(init, float) else str(init)
        rows.append(f"<li>{html.escape(label)}: Init Duration {html.escape(text)}</li>")
    rows += [f"<li>memory_size of {html.escape(n)}: {html.escape(v)}</li>"
             for n, v in memory.items()] or ["<li>memory_size: no Terraform functions yet "
                                             "(lesson 08)</li>"]
    rows.append("</ul><h4>What each check proved</h4>")
    for label, _, items in lessons:
        rows.append(f"<details><summary>{html.escape(label)}: "
                    f"{sum(m == PASS for m, _, _ in items)}/{len(items)}</summary><ul>")
        rows += [f"<li>{mark} <b>{html.escape(title)}</b>: {html.escape(what)}</li>"
                 for mark, title, what in items]
        rows.append("</ul></details>")
    body = (f'<div class="course-card course-certificate" style="--c:{colour}">'
            f"<h4>{html.escape(head)}</h4>{''.join(rows)}</div>")
    plain = "\n".join([head, f"  {capstone_line}", f"  Written to {root / CERTIFICATE}"]
                      + [f"  {name}: {size}" for name, size in sizes]
                      + [f"  {label}: Init Duration "
                         + (f"{v:.0f} ms" if isinstance(v, float) else str(v))
                         for label, v in inits.items()]
                      + [f"  memory_size of {n}: {v}" for n, v in memory.items()])
    return Rendered(body, plain)
