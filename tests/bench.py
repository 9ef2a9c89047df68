"""`make bench`: the figures behind the course's speed and memory goals.

Prints `import course` time, check() latency (first call, median of warm calls), how fast
a runaway is stopped, invoke() cold/warm overheads and limits, kernel memory after lesson 00,
and the wall time of `make test` (skip that with --quick). Goals on a 2-core machine:
import course <= 0.1 s, warm check <= 0.3 s, first check <= 3 s, an endless loop stopped
within its limit + 1 s, warm invoke overhead <= 20 ms, kernel RSS <= 300 MB,
make test <= 5 min.
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
WARM_CALLS = 15


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def check_latency() -> None:
    from course.checks import _worker as worker

    for exercise in ("0.1", "0.2"):
        worker._worker.stop()
        worker._worker = worker.CheckWorker()
        call = functools.partial(worker.run, exercise, ROOT)
        first = timed(call)
        warm = [timed(call) for _ in range(WARM_CALLS)]
        print(f"check({exercise!r}) first call (worker cold) {first:6.2f} s   "
              f"warm median of {WARM_CALLS} {statistics.median(warm):6.3f} s   "
              f"max {max(warm):.3f} s")
    worker._worker.stop()
    worker._worker = worker.CheckWorker()
    worker.prestart()
    time.sleep(4)  # a learner reads the lesson for a few seconds before the first check
    print(f"check('0.1') first call, worker warmed during reading: "
          f"{timed(lambda: worker.run('0.1', ROOT)):.3f} s")
    worker._worker.stop()


def every_exercise() -> None:
    """Warm latency of each exercise's check against the reference (median of 3)."""
    from course.checks import _worker as worker
    from course.checks import exercises

    worker.prestart()
    row = []
    for exercise in sorted(exercises.load_all(), key=exercises.sort_key):
        worker.run(exercise, ROOT)
        call = functools.partial(worker.run, exercise, ROOT)
        row.append(f"{exercise} {statistics.median(timed(call) for _ in range(3)):.2f}s")
    worker._worker.stop()
    print("warm check per exercise:", "  ".join(row))


def import_time() -> None:
    runs = [float(subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); import course; "
         "print(time.perf_counter() - t)"], capture_output=True, text=True).stdout)
        for _ in range(5)]
    print(f"import course: median of 5 fresh interpreters {statistics.median(runs) * 1000:.0f} ms")


def runaways() -> None:
    """How long a check takes to stop learner code that never ends or never returns."""
    from course.checks import _engine
    from course.checks.exercises import get

    limit = get("0.1").timeout
    for label, source in (("endless loop in the function", "def json_response(s, b, h=None):\n"
                           "    while True:\n        pass\n"),
                          ("endless loop at import", "while True:\n    pass\n")):
        with tempfile.TemporaryDirectory() as ws:
            path = Path(ws) / "src" / "utils" / "helpers.py"
            path.parent.mkdir(parents=True)
            path.write_text(source)
            took = timed(lambda ws=ws: _engine.run_isolated("0.1", ws))
        print(f"check with an {label}: stopped in {took:.2f} s (CPU limit {limit:g} s)")


def invoke_figures() -> None:
    from course.awslambda import invoke

    fixture = ROOT / "tests" / "toolkit" / "fixtures" / "project"
    cold = timed(lambda: invoke.invoke("handlers.hello.lambda_handler", project=fixture,
                                       cold=True))
    warm = [timed(lambda: invoke.invoke("handlers.hello.lambda_handler", project=fixture))
            for _ in range(20)]
    print(f"invoke(): cold call {cold * 1000:.0f} ms, warm median of 20 "
          f"{statistics.median(warm) * 1000:.1f} ms")
    invoke.invoke("handlers.misbehave.loop", project=fixture, timeout=0.5)
    took = timed(lambda: invoke.invoke("handlers.misbehave.loop", {"loop": True},
                                       project=fixture, timeout=0.5))
    print(f"invoke(): a 0.5 s timeout stops an endless handler in {took:.2f} s")
    took = timed(lambda: invoke.invoke("handlers.import_loop.lambda_handler", project=fixture,
                                       timeout=0.5))
    print(f"invoke(): an endless loop at import stopped in {took:.2f} s "
          f"(init limit {0.5 + invoke.INIT_GRACE_S:g} s)")
    invoke.shutdown()


def kernel_memory() -> None:
    nb = nbformat.read(ROOT / "solutions" / "00-welcome.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import os, psutil\n"
        "me = psutil.Process()\n"
        "kids = me.children(recursive=True)\n"
        "print(me.memory_info().rss, sum(k.memory_info().rss for k in kids), len(kids))"))
    with tempfile.TemporaryDirectory() as ws:
        os.environ.update(COURSE_WORKSPACE=ws, COURSE_RAISE="1")
        start = time.perf_counter()
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        took = time.perf_counter() - start
    kernel, children, count = map(int, nb.cells[-1].outputs[0]["text"].split())
    print(f"lesson 00 executed in {took:.1f} s; kernel RSS {kernel / 2**20:.0f} MB; "
          f"its {count} helper processes (check worker, warm handler) {children / 2**20:.0f} MB")


def make_test() -> None:
    start = time.perf_counter()
    proc = subprocess.run(["make", "test", "PYTEST_ARGS=-q"], cwd=ROOT, capture_output=True,
                          text=True)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    print(f"make test (venv ready): {time.perf_counter() - start:.0f} s  -> {tail}")


if __name__ == "__main__":
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    import_time()
    check_latency()
    runaways()
    invoke_figures()
    every_exercise()
    kernel_memory()
    if "--quick" not in sys.argv:
        make_test()
