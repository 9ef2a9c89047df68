"""course.learner.capstone: the stages view, the guideline's traps read from code, the
certificate's parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course.learner import capstone
from course.workspace import course_home


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def rules(root: Path) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for trap in capstone.find_traps(root):
        found.setdefault(trap.rule, []).append(trap.line)
    return found


# --- the traps ---------------------------------------------------------------------------------

GUIDELINE = {
    "src/handlers/api_handler.py": """\
import json
import logging

logger = logging.getLogger()

def lambda_handler(event, context):
    logger.info(f"Received event: {json.dumps(event)}")
    try:
        return {'statusCode': 200, 'body': json.dumps(process_event(event))}
    except Exception as e:
        logger.error(f"Error processing event: {str(e)}")
        return {'statusCode': 500, 'body': json.dumps({'error': str(e)})}
""",
    "src/handlers/api_gateway_handler.py": """\
def get_users(event):
    query_params = event.get('queryStringParameters', {}) or {}
    limit = int(query_params.get('limit', 10))
    return limit
""",
    "src/handlers/warmer.py": """\
def lambda_handler(event, context):
    if event.get('warmer', False):
        return {"warmed": True}
""",
    "tests/integration/test_db.py": """\
from moto import mock_dynamodb

def test_it():
    with mock_dynamodb():
        pass
""",
}


def test_every_trap_of_the_guideline_is_found(tmp_path: Path) -> None:
    found = rules(write(tmp_path, GUIDELINE))
    assert found == {"str(e)": [12], "int(query)": [3], "warmer": [1, 2],
                     "mock_dynamodb": [1, 4], "log_event": [7]}


LEAKS = {
    "src/handlers/leaks.py": """\
import traceback
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError

@app.exception_handler(Exception)
def catch_all(exc):
    return Response(status_code=500, body={"detail": repr(exc)})

def route(event, context):
    try:
        work()
    except KeyError as err:
        raise BadRequestError(f"missing {err}") from err
    except ValueError as err:
        message = "failed: %s" % err
        return {"statusCode": 400, "body": message}
    except OSError:
        return json_response(500, {"trace": traceback.format_exc()})
    except RuntimeError as err:
        return build_response(500, {"args": err.args})

@logger.inject_lambda_context(log_event=True)
def handler(evt, context):
    logger.debug("got", extra={"payload": evt})
    if evt.get("source") == "serverless-plugin-warmup":
        return {}
    value = int(app.current_event.get_query_string_value("limit", "5"))
    other = int(evt["queryStringParameters"]["page"].strip())
""",
}


def test_the_traps_are_found_in_their_other_shapes(tmp_path: Path) -> None:
    found = rules(write(tmp_path, LEAKS))
    assert found["str(e)"] == [7, 13, 16, 18, 20]
    assert found["log_event"] == [22, 24]
    assert found["warmer"] == [25]
    assert found["int(query)"] == [27, 28]


CLEAN = {
    "src/handlers/clean.py": """\
import os

# No keep-warm pings here (lesson 10), and never log_event=True: a comment is not code.
PAGE = int(os.environ.get("PAGE_SIZE", "100"))

@app.exception_handler(ServiceError)
def client_error(exc):
    return Response(status_code=exc.status_code, body={"message": exc.msg})

@app.exception_handler(Exception)
def server_error(exc):
    logger.exception("Unhandled error", extra={"error": str(exc)})
    return Response(status_code=500, body={"message": "Internal server error"})

def list_users():
    query = validate(ListQuery, app.current_event.query_string_parameters or {})
    return {"limit": int(query.limit)}

@logger.inject_lambda_context(log_event=False)
def lambda_handler(event, context):
    logger.info("Request", path=event["path"], method=event.get("httpMethod"))
    try:
        return app.resolve(event, context)
    except KeyError as exc:
        raise BadRequestError("Missing field") from exc
""",
    "tests/unit/test_clean.py": "from moto import mock_aws\n",
    "terraform/functions.tf": """\
variable "memory_size" {
  description = "Warm or cold, every request pays its memory"
  default     = 256
}
# no keep-warm schedule: provisioned concurrency if cold starts matter
""",
}


def test_what_is_right_is_not_a_trap(tmp_path: Path) -> None:
    assert capstone.find_traps(write(tmp_path, CLEAN)) == []


def test_deployment_files_are_read_too(tmp_path: Path) -> None:
    write(tmp_path, {"terraform/functions.tf": """\
resource "aws_lambda_function" "api" {
  environment {
    variables = { POWERTOOLS_LOGGER_LOG_EVENT = "true" }
  }
}
resource "aws_cloudwatch_event_rule" "keep_warm" {
  schedule_expression = "rate(5 minutes)"
}
""", "template.yaml": "      Environment:\n        POWERTOOLS_LOGGER_LOG_EVENT: 'true'\n"})
    found = capstone.find_traps(tmp_path)
    assert sorted((t.rule, t.path, t.line) for t in found) == [
        ("log_event", "template.yaml", 2), ("log_event", "terraform/functions.tf", 3),
        ("warmer", "terraform/functions.tf", 6)]


def test_the_reference_project_has_no_trap() -> None:
    assert capstone.find_traps(course_home()) == []


def test_the_view_lists_each_rule_and_each_place(tmp_path: Path) -> None:
    view = capstone.traps_view(capstone.find_traps(write(tmp_path, GUIDELINE)), "Guideline")
    assert view.plain.startswith("✘ Guideline: 7 found")
    assert "src/handlers/api_gateway_handler.py, line 3" in view.plain
    assert all(f"{rule}:" in view.plain for rule in capstone.RULES)
    assert capstone.traps_view([]).plain.startswith("✔ The guideline's traps: none found")


# --- stages ------------------------------------------------------------------------------------

def test_stages_record_what_worked_and_why_not() -> None:
    stages = capstone.Stages("A flow")
    with stages.stage("first") as stage:
        stage.note("201 in 12 ms")
    with stages.stage("second"):
        raise AssertionError("the table holds []")
    with stages.stage("third"):
        raise KeyError("user_id")
    assert [s.passed for s in stages.stages] == [True, False, False]
    assert stages.stages[1].notes == ["the table holds []"]
    assert stages.stages[2].notes == ["KeyError: 'user_id'"]
    assert not stages.passed
    text = repr(stages)
    assert text.startswith("✘ A flow: 1 of 3 stages work")
    assert "✔ first" in text and "201 in 12 ms" in text and "✘ second" in text
    assert "text/html" in stages._repr_mimebundle_() or "application/vnd.jupyter.widget-view+json" \
        in stages._repr_mimebundle_()


def test_an_unfinished_exercise_stops_the_flow() -> None:
    stages = capstone.Stages("A flow")
    with pytest.raises(NotImplementedError), stages.stage("first"):
        raise NotImplementedError("Exercise 11.1: write your code here")
    with stages.stage("second"):
        raise NotImplementedError("not supported by moto")  # any other one is a failed stage
    assert [s.name for s in stages.stages] == ["second"] and not stages.passed


# --- what the certificate reads ---------------------------------------------------------------

def test_the_tree_shows_the_project_not_its_caches(tmp_path: Path) -> None:
    write(tmp_path, {"src/handlers/__init__.py": "", "src/handlers/api.py": "",
                     "src/handlers/__pycache__/api.cpython-311.pyc": "",
                     "tests/unit/test_api.py": "", "pyproject.toml": "",
                     ".course/progress.json": "{}", "notebooks/00-welcome.ipynb": "{}"})
    assert capstone.project_tree(tmp_path) == [
        f"{tmp_path.name}/", "├── src/", "│   └── handlers/", "│       ├── __init__.py",
        "│       └── api.py", "├── tests/", "│   └── unit/", "│       └── test_api.py",
        "└── pyproject.toml"]


def test_package_sizes_say_where_they_come_from(tmp_path: Path) -> None:
    write(tmp_path, {"src/handlers/api.py": "x = 1\n" * 100})
    (function, computed), (layer, missing) = capstone.package_sizes(tmp_path)
    assert function == "function.zip" and "src/ zipped now" in computed
    assert layer == "layer.zip" and "not built yet" in missing
    architecture = 'variable "architecture" {\n  default = "arm64"\n}\n'
    write(tmp_path, {"build/arm64/function.zip": "z" * 2048, "build/arm64/layer.zip": "z" * 10,
                     "terraform/variables.tf": architecture})
    sizes = dict(capstone.package_sizes(tmp_path))
    assert sizes["function.zip"].startswith("2.0 KB (build/arm64/, built ")
    assert "(build/arm64/" in sizes["layer.zip"]
    write(tmp_path, {"build/function.zip": "z" * 1024})
    assert dict(capstone.package_sizes(tmp_path))["function.zip"].startswith("1.0 KB (build/,")


def test_memory_settings_read_the_terraform(tmp_path: Path) -> None:
    assert capstone.memory_settings(tmp_path) == {}
    write(tmp_path, {"terraform/variables.tf": """\
variable "memory_size" {
  type    = number
  default = 512
}
""", "terraform/functions.tf": """\
resource "aws_lambda_function" "api" {
  memory_size = var.memory_size
}
resource "aws_lambda_function" "worker" {
  memory_size = 1769
}
resource "aws_lambda_function" "report" {
  timeout = 10
}
"""})
    assert capstone.memory_settings(tmp_path) == {
        "api": "512 MB (var.memory_size)", "worker": "1769 MB",
        "report": "128 MB (Lambda's default: no memory_size set)"}


def test_init_durations_are_measured_for_the_functions_the_project_has(tmp_path: Path) -> None:
    write(tmp_path, {"src/handlers/__init__.py": "",
                     "src/handlers/users_report.py": "import json\n\n"
                     "def lambda_handler(event, context):\n    return {'users': 0}\n"})
    measured = capstone.init_durations(tmp_path, rounds=1)
    assert list(measured) == ["users report"]
    assert isinstance(measured["users report"], float) and measured["users report"] > 0


def test_the_certificate_is_written_to_the_project(tmp_path: Path) -> None:
    write(tmp_path, {"src/handlers/__init__.py": "", "src/handlers/api_gateway_handler.py": "",
                     ".course/progress.json": json.dumps({
                         "0.1": {"passed": True, "at": "2026-11-30T10:00:00+00:00"},
                         "11.3": {"passed": False, "at": "2026-11-30T11:00:00+00:00"}})})
    view = capstone.certificate(tmp_path, measure=False)
    text = (tmp_path / capstone.CERTIFICATE).read_text()
    assert text.startswith("# Certificate · AWS Lambda in Python: the users service")
    assert "Capstone check 11.3 has not passed yet" in text
    assert "- ✔ **0.1 " in text and "- ○ **1.1 " in text
    assert "── src/" in text and "function.zip: " in text
    assert "users API (`handlers.api_gateway_handler.lambda_handler`): Init Duration not measured" \
        in text
    assert "memory_size: no aws_lambda_function in terraform/ yet" in text
    assert view.plain.startswith("Certificate · the users service: 1 of ")
    progress = json.loads((tmp_path / ".course" / "progress.json").read_text())
    progress["11.3"]["passed"] = True
    (tmp_path / ".course" / "progress.json").write_text(json.dumps(progress))
    capstone.certificate(tmp_path, measure=False)
    text = (tmp_path / capstone.CERTIFICATE).read_text()
    assert "every check below passed again on this workspace" in text and "- ○ " not in text


# --- 11.3 remembers passes only for unchanged inputs ------------------------------------------


def test_a_remembered_pass_is_forgotten_when_any_input_changes(tmp_path: Path) -> None:
    import sys

    from course.checks import exercises

    exercises.load_all()
    lesson = sys.modules["course_checks.lesson_11"]
    root = write(tmp_path, {"src/utils/helpers.py": "x = 1\n", "tests/unit/test_x.py": "",
                            "terraform/main.tf": "", "pyproject.toml": "",
                            "notebooks/00.ipynb": "{}", "src/__pycache__/h.pyc": "cache"})
    key = lesson._inputs_key(root)
    for relative, text in [("notebooks/00.ipynb", "[]"), ("src/__pycache__/h.pyc", "other"),
                           ("README.md", "new")]:  # not an input of any check
        write(root, {relative: text})
        assert lesson._inputs_key(root) == key, relative
    for relative, text in [("src/utils/helpers.py", "x = 2\n"), ("tests/unit/test_x.py", "#"),
                           ("terraform/main.tf", "#"), ("pyproject.toml", "#"),
                           ("src/handlers/new.py", ""), ("requirements-lambda.txt", "a==1")]:
        write(root, {relative: text})
        changed = lesson._inputs_key(root)
        assert changed != key, relative
        key = changed
