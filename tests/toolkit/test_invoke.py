"""Running handlers as Lambda would: cold and warm processes, context, limits, errors, REPORT."""

from __future__ import annotations

import json
import os
import py_compile
import re
import shutil
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import course.sandbox
from course import workspace
from course.awslambda import invoke as lambda_invoke
from course.awslambda.invoke import Invocation, billed_duration_ms, format_report, invoke

FIXTURE = Path(__file__).parent / "fixtures" / "project"
REPORT = re.compile(
    r"^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: \d+ MB\tMax Memory Used: \d+ MB(\tInit Duration: \d+\.\d{2} ms)?"
    r"(\tStatus: \w+)?(\tError Type: [\w.]+)?$")


@pytest.fixture(autouse=True, scope="module")
def _stop_processes() -> Iterator[None]:
    yield
    lambda_invoke.shutdown()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A writable copy of the fixture project."""
    shutil.copytree(FIXTURE, tmp_path / "project")
    return tmp_path / "project"


def write(project: Path, relative: str, source: str) -> None:
    path = project / "src" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


# --- success, context, warm and cold -------------------------------------------------------------


def test_success_cold_then_warm() -> None:
    first = invoke("handlers.hello.lambda_handler", {"a": 1}, project=FIXTURE, cold=True)
    assert first.ok and first.error is None
    assert first.response["statusCode"] == 200 and first.response["event"] == {"a": 1}
    assert first.cold and first.init_duration_ms is not None and first.init_duration_ms > 0
    assert "Init Duration" in first.report
    assert first.logs.splitlines()[0].startswith("INIT_START Runtime Version: python:3.")
    assert f"START RequestId: {first.request_id} Version: $LATEST" in first.logs
    assert "hello from the handler" in first.logs
    assert f"END RequestId: {first.request_id}" in first.logs
    assert first.logs.endswith(first.report)
    second = invoke("handlers.hello.lambda_handler", {"a": 2}, project=FIXTURE)
    assert not second.cold and second.init_duration_ms is None
    assert "Init Duration" not in second.report and "INIT_START" not in second.logs
    assert second.response["calls"] == first.response["calls"] + 1
    assert second.response["pid"] == first.response["pid"]
    assert second.request_id != first.request_id
    assert "hello from the handler" in second.logs and second.logs.count("START RequestId") == 1


def test_cold_true_and_configuration_changes_start_fresh() -> None:
    invoke("handlers.hello.lambda_handler", project=FIXTURE, cold=True)
    warm = invoke("handlers.hello.lambda_handler", project=FIXTURE)
    assert warm.response["calls"] == 2
    again = invoke("handlers.hello.lambda_handler", project=FIXTURE, cold=True)
    assert again.cold and again.response["calls"] == 1
    assert again.response["pid"] != warm.response["pid"]
    bigger = invoke("handlers.hello.lambda_handler", project=FIXTURE, memory_mb=256)
    assert bigger.cold and bigger.response["calls"] == 1 and bigger.memory_mb == 256
    assert any("configuration changed" in note for note in bigger.notes)
    with_env = invoke("handlers.hello.lambda_handler", project=FIXTURE, memory_mb=256,
                      env={"STAGE": "test"})
    assert with_env.cold


def test_source_change_is_a_cold_start(project: Path) -> None:
    first = invoke("handlers.hello.lambda_handler", project=project)
    assert first.cold
    assert not invoke("handlers.hello.lambda_handler", project=project).cold
    path = project / "src" / "handlers" / "hello.py"
    path.write_text(path.read_text().replace('"statusCode": 200', '"statusCode": 201'))
    changed = invoke("handlers.hello.lambda_handler", project=project)
    assert changed.cold and changed.response["statusCode"] == 201
    assert changed.response["calls"] == 1
    assert any("source files changed" in note for note in changed.notes)
    write(project, "utils/new_module.py", "X = 1\n")  # any new .py file under src counts
    assert invoke("handlers.hello.lambda_handler", project=project).cold


def test_a_stale_pycache_is_never_used(project: Path) -> None:
    # The kernel imports the learner's modules too and leaves __pycache__ behind; Python trusts a
    # .pyc whose recorded mtime (whole seconds) and size match, so a quick same-size edit would
    # run the old code. The function process always compiles the project's files from source.
    path = project / "src" / "handlers" / "version.py"
    path.write_text("def lambda_handler(event, context):\n    return 1\n")
    py_compile.compile(str(path), doraise=True)
    stat = path.stat()
    path.write_text("def lambda_handler(event, context):\n    return 2\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert invoke("handlers.version.lambda_handler", project=project).response == 2


def test_context_and_environment_like_lambda() -> None:
    result = invoke("handlers.context_info.lambda_handler", project=FIXTURE, timeout=2,
                    memory_mb=256, function_name="orders-api",
                    env={"TABLE_NAME": "users", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert result.ok, result
    seen = result.response
    assert seen["aws_request_id"] == result.request_id
    assert seen["function_name"] == "orders-api" and seen["function_version"] == "$LATEST"
    assert seen["invoked_function_arn"] == \
        "arn:aws:lambda:us-east-1:123456789012:function:orders-api"
    assert seen["memory_limit_in_mb"] == "256"  # a string, as in Lambda's Python runtime
    assert seen["log_group_name"] == "/aws/lambda/orders-api"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", seen["log_stream_name"])
    assert seen["identity"] == [None, None] and seen["client_context"] is None
    first, later = seen["remaining"]  # read before and after a 50 ms sleep in the handler
    assert 0 < first <= 2000 and first - later >= 49
    env = seen["env"]
    src = str(workspace.src_dir(FIXTURE))
    assert env["LAMBDA_TASK_ROOT"] == src == seen["cwd"] == seen["sys_path"][0]
    assert env["_HANDLER"] == "handlers.context_info.lambda_handler"
    assert env["AWS_EXECUTION_ENV"].startswith("AWS_Lambda_python3.")
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["TABLE_NAME"] == "users"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"  # survives the sandbox
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_PROFILE"] is None
    assert env["AWS_REGION"] == "us-east-1"
    assert re.search(rf"\[WARNING\]\t\d{{4}}-\d\d-\d\dT[\d:.]+Z\t{result.request_id}\tcareful",
                     result.logs)
    assert "not shown" not in result.logs


def test_course_reference_modules_are_out_of_reach() -> None:
    seen = invoke("handlers.context_info.lambda_handler", project=FIXTURE).response
    reference_src = workspace.course_home() / "src"
    assert not any(Path(p).resolve() == reference_src for p in seen["sys_path"] if p)
    assert seen["course_file"] == course.sandbox.__file__
    src = str(workspace.src_dir(FIXTURE))
    assert all(src in path for path in seen["sys_path"][:1])
    assert "handlers.context_info" in seen["loaded"]


def test_the_function_process_imports_only_the_standard_library_and_the_sandbox() -> None:
    seen = invoke("handlers.context_info.lambda_handler", project=FIXTURE, cold=True).response
    site_hooks = ("__editable__", "_distutils_hack", "__main__")  # loaded by site, not by us
    foreign = [name for name in seen["modules"]
               if name.split(".")[0] not in sys.stdlib_module_names
               and name.split(".")[0] not in ("course", "handlers")
               and not name.startswith(site_hooks)]
    assert not foreign, f"the function process imported {foreign}"
    course_modules = {name for name in seen["modules"] if name.split(".")[0] == "course"}
    # the runtime itself runs as __main__ (`python -m course.awslambda.runtime`)
    assert course_modules == {"course", "course.sandbox", "course.awslambda",
                              "course.awslambda.context"}


def test_powertools_logger_accepts_the_context() -> None:
    first = invoke("handlers.powertools_logger.lambda_handler", {"items": [1, 2]},
                   project=FIXTURE, cold=True)
    second = invoke("handlers.powertools_logger.lambda_handler", project=FIXTURE)
    assert first.ok and second.ok, first

    def record(result: Invocation) -> dict:
        lines = [line for line in result.logs.splitlines() if line.startswith("{")]
        return json.loads(lines[0])

    one, two = record(first), record(second)
    assert one["message"] == "processing" and one["items"] == 2
    assert one["function_request_id"] == first.request_id
    assert one["function_name"] == "course-function"
    assert one["function_arn"].endswith(":function:course-function")
    assert one["cold_start"] is True and two["cold_start"] is False


def test_src_prefixed_handler_runs_with_a_note() -> None:
    result = invoke("src.handlers.hello.lambda_handler", project=FIXTURE)
    assert result.ok and result.handler == "handlers.hello.lambda_handler"
    assert any("'handlers.hello.lambda_handler'" in note for note in result.notes)


def test_decimal_response_becomes_json_numbers() -> None:
    result = invoke("handlers.misbehave.decimals", project=FIXTURE)
    assert result.response == {"age": 42, "score": 4.5}
    assert isinstance(result.response["age"], int)


# --- limits --------------------------------------------------------------------------------------


def test_timeout_kills_and_next_call_is_cold() -> None:
    invoke("handlers.misbehave.loop", project=FIXTURE, timeout=0.5)
    result = invoke("handlers.misbehave.loop", {"loop": True}, project=FIXTURE, timeout=0.5)
    assert not result.ok and result.response is None
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in result.error["errorMessage"]
    assert re.search(rf"Z {result.request_id} Task timed out after 0\.50 seconds", result.logs)
    assert "about to loop forever" in result.logs
    assert result.duration_ms == 500.0 and result.billed_duration_ms == 500
    assert result.report.endswith("\tStatus: timeout") and REPORT.match(result.report)
    after = invoke("handlers.misbehave.loop", project=FIXTURE, timeout=0.5)
    assert after.ok and after.cold and after.response == {"looped": False}


def test_import_time_infinite_loop_is_bounded() -> None:
    result = invoke("handlers.import_loop.lambda_handler", project=FIXTURE, timeout=0.5)
    assert result.error["errorType"] == "Sandbox.Timedout"
    message = result.error["errorMessage"]
    assert "Init timed out after 2.50 seconds" in message
    assert "src/handlers/import_loop.py" in message and "10 s" in message
    assert "INIT_REPORT Init Duration" in result.logs and "Status: timeout" in result.logs


def test_out_of_memory() -> None:
    result = invoke("handlers.misbehave.hog", {"mb": 200}, project=FIXTURE, memory_mb=128)
    assert result.error["errorType"] == "Runtime.OutOfMemory"
    assert "Runtime exited with error: signal: killed" in result.error["errorMessage"]
    assert result.max_memory_used_mb == 128
    assert result.report.endswith("Status: error\tError Type: Runtime.OutOfMemory")
    assert any("more than the function's 128 MB" in note for note in result.notes)
    fine = invoke("handlers.misbehave.hog", {"mb": 20}, project=FIXTURE, memory_mb=128)
    assert fine.ok and fine.cold and fine.response == 20 * 1024 * 1024


# --- errors --------------------------------------------------------------------------------------


def test_handler_exception_like_lambda() -> None:
    result = invoke("handlers.boom.lambda_handler", {}, project=FIXTURE)
    assert not result.ok and result.response is None
    error = result.error
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "name is required"
    assert error["requestId"] == result.request_id
    stack = "".join(error["stackTrace"])
    assert "handlers/boom.py" in stack and "utils/checks.py" in stack
    assert "lambda_context" not in stack and "course" not in stack.replace(str(FIXTURE), "")
    assert "[ERROR] ValueError: name is required\nTraceback (most recent call last):" \
        in result.logs
    ok = invoke("handlers.boom.lambda_handler", {"name": "Ada"}, project=FIXTURE)
    assert ok.ok and not ok.cold  # an exception does not end the process


def test_marshal_error() -> None:
    result = invoke("handlers.misbehave.not_json", project=FIXTURE)
    assert result.error["errorType"] == "Runtime.MarshalError"
    assert result.error["errorMessage"] == \
        "Unable to marshal response: Object of type datetime is not JSON serializable"


@pytest.mark.parametrize(("function", "expected"), [
    ("exit_3", "Runtime exited with error: exit status 3"),
    ("segfault", "Runtime exited with error: signal: segmentation fault"),
])
def test_runtime_exit(function: str, expected: str) -> None:
    result = invoke(f"handlers.misbehave.{function}", project=FIXTURE)
    assert result.error["errorType"] == "Runtime.ExitError"
    assert expected in result.error["errorMessage"]
    assert result.report.endswith("Error Type: Runtime.ExitError")
    if function == "exit_3":
        assert "exiting" in result.logs
    assert invoke(f"handlers.misbehave.{function}".replace(function, "decimals"),
                  project=FIXTURE).ok


def test_syntax_error_names_the_file(project: Path) -> None:
    write(project, "handlers/broken.py", """\
        def lambda_handler(event, context)
            return {}
        """)
    result = invoke("handlers.broken.lambda_handler", project=project)
    assert result.error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert result.error["errorMessage"].startswith("Syntax error in module 'handlers.broken'")
    assert "broken.py, line 1" in result.error["errorMessage"]
    assert str(project / "src" / "handlers" / "broken.py") in result.error["stackTrace"][0]
    assert result.cold and "INIT_REPORT" in result.logs
    assert "Error Type: Runtime.UserCodeSyntaxError" in result.report
    assert REPORT.match(result.report)


def test_missing_module_never_falls_back_to_the_course_reference(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The course's own src/ holds a reference handlers/hello.py: even with it on the parent's
    # PYTHONPATH, a project without the file must fail, naming the file it needs.
    assert (workspace.course_home() / "src" / "handlers" / "hello.py").exists()
    monkeypatch.setenv("PYTHONPATH", str(workspace.course_home() / "src"))
    write(tmp_path, "handlers/__init__.py", "")
    result = invoke("handlers.hello.lambda_handler", project=tmp_path)
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    message = result.error["errorMessage"]
    assert message.startswith("Unable to import module 'handlers.hello': No module named")
    assert "your project has no src/handlers/hello.py" in message
    empty = tmp_path / "empty"
    (empty / "src").mkdir(parents=True)
    result = invoke("handlers.hello.lambda_handler", project=empty)
    assert "No module named 'handlers'" in result.error["errorMessage"]
    assert "src/handlers/hello.py" in result.error["errorMessage"]


def test_missing_dependency_names_the_importing_file() -> None:
    result = invoke("handlers.needs_dependency.lambda_handler", project=FIXTURE)
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    message = result.error["errorMessage"]
    assert "No module named 'course_fixture_package_that_does_not_exist'" in message
    assert "while importing src/handlers/needs_dependency.py" in message


def test_missing_function_and_malformed_handler() -> None:
    result = invoke("handlers.hello.handler", project=FIXTURE)
    assert result.error["errorType"] == "Runtime.HandlerNotFound"
    message = result.error["errorMessage"]
    assert message.startswith("Handler 'handler' missing on module 'handlers.hello'")
    assert "src/handlers/hello.py" in message and "lambda_handler" in message
    bad = invoke("lambda_handler", project=FIXTURE)
    assert bad.error["errorType"] == "Runtime.MalformedHandlerName"


def test_sandbox_is_active_in_the_function() -> None:
    result = invoke("handlers.sandbox_check.lambda_handler", project=FIXTURE)
    assert result.response == {"outcome": "course.sandbox.SandboxBlocked", "key": "testing"}


def test_bad_arguments_are_refused_early() -> None:
    with pytest.raises(ValueError, match="reserved"):
        invoke("handlers.hello.lambda_handler", project=FIXTURE, env={"AWS_REGION": "eu-west-1"})
    with pytest.raises(ValueError, match="allow_real_aws"):
        invoke("handlers.hello.lambda_handler", project=FIXTURE, env={"COURSE_SANDBOX": "off"})
    with pytest.raises(ValueError, match="memory_mb"):
        invoke("handlers.hello.lambda_handler", project=FIXTURE, memory_mb=64)
    with pytest.raises(ValueError, match="timeout"):
        invoke("handlers.hello.lambda_handler", project=FIXTURE, timeout=0)
    with pytest.raises(TypeError, match="JSON"):
        invoke("handlers.hello.lambda_handler", {"when": object()}, project=FIXTURE)
    with pytest.raises(FileNotFoundError, match="src"):
        invoke("handlers.hello.lambda_handler", project=FIXTURE / "nowhere")


# --- REPORT, billing, display -------------------------------------------------------------------


def test_report_line_format() -> None:
    cold = invoke("handlers.hello.lambda_handler", project=FIXTURE, cold=True)
    warm = invoke("handlers.hello.lambda_handler", project=FIXTURE)
    for result in (cold, warm):
        assert REPORT.match(result.report), result.report
        assert f"RequestId: {result.request_id}\t" in result.report
        assert result.billed_duration_ms == billed_duration_ms(result.duration_ms,
                                                               result.init_duration_ms)
        assert 5 < result.max_memory_used_mb < 128
    assert cold.billed_duration_ms >= cold.init_duration_ms  # INIT is billed since 2025-08
    assert format_report("r", 12.345, 13, 128, 45, 234.561) == (
        "REPORT RequestId: r\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 45 MB\tInit Duration: 234.56 ms")


@pytest.mark.parametrize(("duration", "init", "billed"), [
    (12.34, None, 13), (12.0, None, 12), (0.02, None, 1), (0.0, None, 1),
    (12.34, 234.56, 247), (1.5, 0.5, 2), (0.1 + 0.2, 0.7, 1), (999.0001, None, 1000),
])
def test_billed_duration(duration: float, init: float | None, billed: int) -> None:
    assert billed_duration_ms(duration, init) == billed


def test_text_and_html_display() -> None:
    good = invoke("handlers.hello.lambda_handler", {"html": "<b>"}, project=FIXTURE)
    text = str(good)
    assert text.startswith("Function returned HTTP 200") and good.report in text
    assert '"calls"' in text and repr(good) == text
    page = good._repr_html_()
    assert "&lt;b&gt;" in page and "<b>" not in page.replace("<b style", "")
    assert page.count("REPORT RequestId") == 1  # once, each field unbreakable
    for field in good.report.split("\t"):
        assert f'white-space:nowrap;margin-right:1.2em">{field}</span>' in page
    bad = invoke("handlers.boom.lambda_handler", project=FIXTURE)
    assert str(bad).startswith("Function error: ValueError")
    assert "ValueError: name is required" in str(bad)
    assert "ValueError: name is required" in bad._repr_html_()


@pytest.mark.parametrize("status,colour", [(201, "#1a7f37"), (404, "#9a6700"),
                                           (500, "#cf222e")])
def test_an_http_answer_is_judged_by_its_status_code(project: Path, status: int,
                                                     colour: str) -> None:
    write(project, "handlers/status.py", f"""
        def lambda_handler(event, context):
            return {{"statusCode": {status}, "body": "{{}}"}}
        """)
    result = invoke("handlers.status.lambda_handler", project=project)
    assert result.ok and result.status_code == status
    assert str(result).startswith(f"Function returned HTTP {status} (cold start)")
    assert f'<b style="color:{colour}">Function returned HTTP {status}</b>' in result._repr_html_()


def test_a_placeholder_says_which_exercise_to_finish(project: Path) -> None:
    write(project, "handlers/todo.py", """
        def lambda_handler(event, context):
            raise NotImplementedError("Exercise 2.1: write your code here")
        """)
    with pytest.raises(NotImplementedError, match=r"^Exercise 2\.1 is not finished yet "
                       r"\(src/handlers/todo\.py, line 3\): .*Finish exercise 2\.1 first"):
        invoke("handlers.todo.lambda_handler", project=project)


def test_long_output_is_cut_and_the_log_file_reset(project: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lambda_invoke, "_LOG_SHOWN_BYTES", 4000)
    monkeypatch.setattr(lambda_invoke, "_LOG_FILE_RESET_BYTES", 10000)
    write(project, "handlers/chatty.py", """\
        def lambda_handler(event, context):
            for i in range(event["n"]):
                print(f"line {i:05d}")
            return event["n"]
        """)
    long = invoke("handlers.chatty.lambda_handler", {"n": 2000}, project=project)
    assert long.response == 2000
    assert "bytes of output skipped" in long.logs
    assert "line 00000" in long.logs and "line 01999" in long.logs
    short = invoke("handlers.chatty.lambda_handler", {"n": 3}, project=project)
    assert not short.cold and "line 00002" in short.logs
    assert "skipped" not in short.logs and "line 01999" not in short.logs


def test_a_forked_copy_leaves_the_parents_processes_alone() -> None:
    first = invoke("handlers.hello.lambda_handler", project=FIXTURE)
    child = os.fork()
    if child == 0:  # e.g. the checker's fork worker
        code = 1
        try:
            fresh = not lambda_invoke._POOL
            code = 0 if fresh and invoke("handlers.hello.lambda_handler", project=FIXTURE).cold \
                else 2
            lambda_invoke.shutdown()
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    again = invoke("handlers.hello.lambda_handler", project=FIXTURE)
    assert not again.cold and again.response["pid"] == first.response["pid"]


def test_shutdown_stops_every_process() -> None:
    result = invoke("handlers.hello.lambda_handler", project=FIXTURE)
    pid = result.response["pid"]
    lambda_invoke.shutdown()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert invoke("handlers.hello.lambda_handler", project=FIXTURE).cold


# --- a deployment package, run isolated ----------------------------------------------------------


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def test_a_zip_runs_isolated_like_lambda(tmp_path: Path) -> None:
    write(tmp_path, "probe.py", """
        import importlib.util
        import sys


        def lambda_handler(event, context):
            return {name: importlib.util.find_spec(name) is not None
                    for name in ("boto3", "pydantic", "aws_lambda_powertools", "moto", "course",
                                 "helper_from_layer")} | {"path0": sys.path[0]}
        """)
    write(tmp_path / "layer", "python/helper_from_layer.py", "X = 1\n")
    zipped = _zip(tmp_path / "src", tmp_path / "function.zip")
    layer = _zip(tmp_path / "layer" / "src", tmp_path / "layer.zip")
    result = invoke("probe.lambda_handler", code=zipped, layers=[layer])
    assert result.ok, result
    seen = result.response
    assert seen["boto3"], "the AWS SDK is part of Lambda's Python runtime"
    assert not seen["pydantic"] and not seen["aws_lambda_powertools"] and not seen["moto"], (
        "an isolated function sees this environment's packages")
    assert seen["course"]  # the runtime itself (like /var/runtime)
    assert seen["helper_from_layer"]
    assert seen["path0"].startswith(tempfile.gettempdir())  # the unpacked package is /var/task


def test_a_package_missing_a_dependency_fails_to_import_like_lambda(tmp_path: Path) -> None:
    write(tmp_path, "handlers/app.py", "from aws_lambda_powertools import Logger\n"
                                       "def lambda_handler(event, context):\n    return 1\n")
    zipped = _zip(tmp_path / "src", tmp_path / "function.zip")
    result = invoke("handlers.app.lambda_handler", code=zipped)
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert "aws_lambda_powertools" in result.error["errorMessage"]
    with pytest.raises(ValueError, match="at most 5 layers"):
        invoke("handlers.app.lambda_handler", code=zipped, layers=[zipped] * 6)


def test_cpu_share_follows_memory_where_a_cgroup_allows(project: Path) -> None:
    from course.awslambda import _cgroup

    write(project, "handlers/spin.py", """
        import time


        def lambda_handler(event, context):
            started, cpu = time.perf_counter(), time.process_time()
            while time.process_time() - cpu < 0.2:
                pass
            return time.perf_counter() - started
        """)
    probe = _cgroup.CpuShare(512, f"course-probe-{os.getpid()}")
    can_limit = probe.limited
    probe.close()
    small = invoke("handlers.spin.lambda_handler", project=project, memory_mb=512,
                   cpu_share=True, timeout=10)
    assert small.ok, small
    if can_limit:  # 512 MB is 0.29 vCPU: 0.2 s of computing takes about 0.7 s
        assert small.response > 0.45 and not small.notes, (small.response, small.notes)
    else:
        assert any("CPU not limited" in note for note in small.notes)
    assert _cgroup.vcpus(1769) == 1.0


def test_a_cold_start_reports_the_init_phase_cpu_time() -> None:
    cold = invoke("handlers.hello.lambda_handler", project=FIXTURE, cold=True)
    assert cold.init_cpu_ms is not None and 0 < cold.init_cpu_ms
    warm = invoke("handlers.hello.lambda_handler", project=FIXTURE)
    assert warm.init_cpu_ms is None
