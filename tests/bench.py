"""`make bench`: the figures behind the course's speed and memory goals.

Prints check() latency (first call, median of warm calls), kernel memory after lesson 00,
and the wall time of `make test` (skip that with --quick). Goals on a 2-core machine:
warm check <= 0.3 s, first check <= 3 s, kernel RSS <= 300 MB.
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
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=ROOT,
                          capture_output=True, text=True)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    print(f"make test (pytest, venv ready): {time.perf_counter() - start:.0f} s  -> {tail}")


if __name__ == "__main__":
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    check_latency()
    every_exercise()
    kernel_memory()
    if "--quick" not in sys.argv:
        make_test()
