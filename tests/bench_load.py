"""Load figure: N learners checking exercises at once on this machine (`make bench`).

Each simulated learner is what a kernel holds: its own check worker
(`course.checks._worker.CheckWorker`, a separate warm process) and its own solved workspace.
For N = 5, 10, 20 all learners fire a check at the same moment (a burst, as when an
instructor says "now run the check"), for ROUNDS rounds, each learner on a different
exercise. Prints p50/p95/max latency, CPU seconds per check and worker memory per learner,
plus a kernel's memory after lesson 00, measured once. About two minutes on 2 cores.

    python tests/bench_load.py [--learners 5,10,20] [--rounds 6] [--all-lessons]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOT_IN_A_LEARNER = {".git", ".venv", ".venv-checkov", "wheelhouse", "workspace", "build",
                    "notebooks", "solutions", "course",
                    "checks", "toolkit", "delivery", "browser", "binder", ".ci", "__pycache__",
                    ".hypothesis", ".ruff_cache", ".pytest_cache", ".ipynb_checkpoints"}
MB = 2**20


def solved_workspace(target: Path) -> Path:
    shutil.copytree(ROOT, target, ignore=lambda _, names: [n for n in names
                                                           if n in NOT_IN_A_LEARNER])
    return target


MEASURE = """\
import json, psutil
me = psutil.Process()
def label(p):
    args = p.cmdline()[1:]
    return "check worker" if "course.checks._worker" in args else (
        "function process (invoke)" if "-c" in args else " ".join(args)[:30])
def mem(p):
    m = p.memory_full_info()
    return [m.rss, m.uss]
print(json.dumps([["kernel", *mem(me)]]
                 + [[label(k), *mem(k)] for k in me.children(recursive=True)]))
"""


def kernel_memory(lesson: Path = ROOT / "solutions" / "00-welcome.ipynb",
                  workspace: Path | None = None) -> dict[str, tuple[float, float]]:
    """(RSS, USS) in MB after a lesson's solution ran in a kernel: the kernel, each helper.

    With `workspace`, lessons share it (a lesson builds on the files of the ones before) and
    a failing cell does not stop the measurement."""
    nb = nbformat.read(lesson, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(MEASURE))
    with tempfile.TemporaryDirectory() as scratch:
        env = {"COURSE_WORKSPACE": str(workspace or scratch), "COURSE_RAISE": "1"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            NotebookClient(nb, timeout=120, kernel_name="python3",
                           allow_errors=workspace is not None).execute()
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    found: dict[str, tuple[float, float]] = {}
    for name, rss, uss in json.loads(nb.cells[-1].outputs[0]["text"]):
        old = found.get(name, (0.0, 0.0))
        found[name] = (old[0] + rss / MB, old[1] + uss / MB)
    return found


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def run_load(workers: list, workspaces: list[Path], exercises: list[str],
             rounds: int) -> dict[str, float]:
    n = len(workers)
    procs = [psutil.Process(w._proc.pid) for w in workers]
    cpu_before = sum(cpu_seconds(p) for p in procs)
    latencies: list[float] = []
    errors: list[str] = []
    barrier = threading.Barrier(n)
    lock = threading.Lock()

    def learner(i: int) -> None:
        for r in range(rounds):
            exercise = exercises[(i + r) % len(exercises)]
            barrier.wait()
            start = time.perf_counter()
            reply = workers[i].request(exercise, workspaces[i], 120)
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                failed = [f"{r['name']}: {r['message'][:90]}"
                          for r in reply.get("results", []) if not r["passed"]]
                if "error" in reply or failed:
                    errors.append(f"{exercise} after {took:.1f} s: {reply.get('error') or failed}")

    threads = [threading.Thread(target=learner, args=(i,)) for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()
    rss = [p.memory_info().rss / MB for p in procs]
    uss = [p.memory_full_info().uss / MB for p in procs]
    return {"learners": n, "checks": len(latencies), "wall": wall,
            "p50": statistics.median(latencies),
            "p95": latencies[max(0, round(0.95 * len(latencies)) - 1)],
            "max": latencies[-1],
            "cpu": (sum(cpu_seconds(p) for p in procs) - cpu_before) / len(latencies),
            "rss": statistics.mean(rss), "uss": statistics.mean(uss), "errors": errors}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", default="5,10,20")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--all-lessons", action="store_true",
                        help="also measure a kernel's memory after each lesson (slower)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.learners.split(",")]
    os.environ.pop("COURSE_WORKSPACE", None)
    from course.checks import _worker as worker
    from course.checks import exercises as registry

    started = time.perf_counter()
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    memory = kernel_memory()
    print("one learner after lesson 00 (RSS / USS): "
          + ", ".join(f"{k} {rss:.0f}/{uss:.0f} MB" for k, (rss, uss) in memory.items())
          + f"; total {sum(r for r, _ in memory.values()):.0f}/"
          f"{sum(u for _, u in memory.values()):.0f} MB")
    if args.all_lessons:
        with tempfile.TemporaryDirectory() as shared:
            for lesson in sorted((ROOT / "solutions").glob("*.ipynb")):
                found = kernel_memory(lesson, Path(shared))
                print(f"  after {lesson.stem}: " + ", ".join(
                    f"{k} {rss:.0f}/{uss:.0f} MB" for k, (rss, uss) in found.items()))
    exercises = sorted(registry.load_all(), key=registry.sort_key)
    with tempfile.TemporaryDirectory() as tmp:
        template = solved_workspace(Path(tmp) / "template")
        workspaces = [Path(shutil.copytree(template, Path(tmp) / f"learner-{i:02}"))
                      for i in range(max(sizes))]
        workers = [worker.CheckWorker() for _ in workspaces]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        warm = [threading.Thread(target=w.request, args=("0.1", ws, 120))
                for w, ws in zip(workers, workspaces, strict=True)]
        for t in warm:
            t.start()
        for t in warm:
            t.join()
        print(f"{len(workers)} check workers started and warm in {time.perf_counter() - t0:.1f} s")
        alone = {e: workers[0].request(e, workspaces[0], 120) for e in exercises}
        broken = [e for e, reply in alone.items()
                  if "error" in reply or not all(r["passed"] for r in reply["results"])]
        exercises = [e for e in exercises if e not in broken]
        print(f"{len(exercises)} exercises, each learner on a different one per round"
              + (f" (left out, failing on the reference even alone: {', '.join(broken)})"
                 if broken else ""))
        head = (f"{'learners':>8} {'checks':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
                f"{'CPU s/check':>11} {'worker RSS MB':>13} {'USS MB':>7} {'errors':>6}")
        print(head)
        failures: list[str] = []
        try:
            for n in sizes:
                row = run_load(workers[:n], workspaces[:n], exercises, args.rounds)
                print(f"{row['learners']:>8} {row['checks']:>6} {row['p50']:>7.2f} "
                      f"{row['p95']:>7.2f} {row['max']:>7.2f} {row['cpu']:>11.2f} "
                      f"{row['rss']:>13.0f} {row['uss']:>7.0f} {len(row['errors']):>6}")
                failures += [f"  N={n}: {e}" for e in row["errors"]]
        finally:
            for w in workers:
                w.stop()
        if failures:
            print("checks that failed under load (they pass when alone):", *failures, sep="\n")
    print(f"bench_load took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
