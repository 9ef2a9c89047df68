"""Confine a forked process to one learner's files (Linux, as root), for class grading.

In the forked child, before it runs any learner code:

* `private_mounts(keep)`: a private mount namespace in which /tmp, /var/tmp and /dev/shm are
  fresh, empty tmpfs, and so is every folder that other users cannot enter (e.g. /root when
  Python lives in /root/.pyenv). Only the paths in `keep` (the interpreter, the course, the
  learner's private copy) are bound back in. Other learners' copies do not exist there, and
  what the learner writes outside its copy vanishes with the namespace.
* `drop(uid)`: become an unprivileged uid/gid with no supplementary groups.
* `limit(dropped)`: cap processes (a fork bomb stops), file sizes and core dumps.

Then `only_fds(keep)` hides every inherited descriptor (the grader's own pipes), and
`kill_uid(uid)` removes whatever the learner's code left running.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 0x40000
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")  # world-writable: each learner gets its own
TMPFS_SIZE = "64m"
NPROC = 48  # processes + threads per learner uid
FSIZE = 256 * 2**20  # largest file a learner's code may write


def needed_paths() -> list[Path]:
    """What a learner's checks must be able to read: the interpreter, its libraries, the toolkit,
    the hidden tests and the wheelhouse of lessons 07-08 (not the course's reference app,
    solutions, nor the grader's folder)."""
    import course
    from course.learner import wheelhouse
    from course.workspace import course_home

    home, cwd = course_home().resolve(), Path.cwd().resolve()
    on_path = [Path(p).resolve() for p in sys.path if p]
    candidates = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent,
                  Path(course.__file__).parent, home / "tests" / "checks", wheelhouse.folder(),
                  *(p for p in on_path if p != cwd and not p.is_relative_to(home))]
    return sorted({p.resolve() for p in candidates if p.exists()})


def hidden_paths(*extra: Path) -> list[Path]:
    """Folders whose content learners' code must not see, but for what `keep` binds back:
    the course (reference app, solutions), /home (other learners' originals), and `extra`."""
    from course.workspace import course_home

    return [p.resolve() for p in (course_home(), Path("/home"), *extra) if p.is_dir()]


def _enterable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o001)


def blocked_ancestor(path: Path) -> Path | None:
    """The topmost folder above `path` that other users cannot enter, if any."""
    for ancestor in reversed(path.parents):
        if ancestor != Path("/") and not _enterable(ancestor):
            return ancestor
    return None


def plan(keep: list[Path], hide: Sequence[Path] = ()) -> dict[Path, list[Path]]:
    """Folders to cover with a fresh tmpfs -> the kept paths to bind back inside each."""
    covers = {Path(d) for d in SCRATCH_DIRS if Path(d).is_dir() and not Path(d).is_symlink()}
    covers |= {h for h in hide if h.is_dir() and h != Path("/")}
    covers |= {b for b in map(blocked_ancestor, keep) if b is not None}
    covers = {c for c in covers if not any(c != o and c.is_relative_to(o) for o in covers)}
    layout = {}
    for cover in covers:
        inside = sorted({p for p in keep if p.is_relative_to(cover) and p != cover})
        layout[cover] = [p for p in inside
                         if not any(p != q and p.is_relative_to(q) for q in inside)]
    return layout


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount(libc: ctypes.CDLL, source: str | None, target: Path | str, fstype: str | None,
           flags: int, data: str | None = None) -> None:
    def encode(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    if libc.mount(encode(source), str(target).encode(), encode(fstype), flags,
                  encode(data)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def private_mounts(keep: list[Path], hide: Sequence[Path] = ()) -> None:
    """Enter a private mount namespace as described above (root only, Linux only)."""
    layout = plan([p.resolve() for p in keep], [h.resolve() for h in hide])
    libc = _libc()
    if libc.unshare(CLONE_NEWNS) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare(CLONE_NEWNS): {os.strerror(errno)}")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)  # nothing propagates to the host
    # Opened inside the new namespace (a bind mount's source must belong to it), before the
    # covers hide them.
    fds = {p: os.open(p, os.O_PATH) for paths in layout.values() for p in paths}
    folders = {p for p in fds if p.is_dir()}
    old_umask = os.umask(0o022)
    try:
        for cover in sorted(layout, key=lambda c: len(c.parts)):
            mode = "1777" if str(cover) in SCRATCH_DIRS else "755"
            _mount(libc, "tmpfs", cover, "tmpfs", MS_NOSUID | MS_NODEV,
                   f"mode={mode},size={TMPFS_SIZE}")
            for path in layout[cover]:
                if path in folders:
                    path.mkdir(parents=True, exist_ok=True)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
                _mount(libc, f"/proc/self/fd/{fds[path]}", path, None, MS_BIND | MS_REC)
    finally:
        os.umask(old_umask)
        for fd in fds.values():
            os.close(fd)


def drop(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def limit(dropped: bool) -> None:
    if dropped:  # per uid: only meaningful once the learner has a uid of its own
        resource.setrlimit(resource.RLIMIT_NPROC, (NPROC, NPROC))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE, FSIZE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def only_fds(keep: int) -> None:
    """Point every inherited descriptor but `keep` at /dev/null.

    A grader's pool process holds pipes to the grading process (pickled tasks and results):
    code running as a learner must not be able to read or write them.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(min(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 4096)))
    for fd in fds:
        if fd not in (keep, devnull):
            try:
                os.dup2(devnull, fd)
            except OSError:
                pass
    os.close(devnull)


def kill_strays(uid: int | None) -> None:
    """From a process running as `uid`: kill every other process of that uid."""
    if uid is not None and os.getuid() == uid != 0:
        try:
            os.kill(-1, signal.SIGKILL)  # every process we may signal, never the caller
        except OSError:
            pass


def processes_of(uid: int) -> list[int]:
    import psutil

    return [p.pid for p in psutil.process_iter(["uids"])
            if p.info["uids"] and p.info["uids"].real == uid]


def kill_uid(uid: int) -> None:
    """Kill every process of `uid` (from root): fork, become uid, signal them all."""
    for _ in range(20):
        if not processes_of(uid):
            return
        pid = os.fork()
        if pid == 0:
            try:
                drop(uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.05)


PROBE = "tomllib"  # a stdlib module the warm-up does not import


def probe(uid: int, keep: list[Path], hide: list[Path] | None) -> str:
    """Fork, confine as a learner would be (in a mount namespace hiding `hide`, unless None),
    and try to import a fresh module and read `keep`; '' if it works."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        problem = ""
        try:
            if hide is not None:
                private_mounts(keep, hide)
            drop(uid)
            sys.modules.pop(PROBE, None)
            __import__(PROBE)
            for path in keep:
                if path.is_dir():
                    os.listdir(path)
                else:
                    path.open("rb").close()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            problem = f"{type(exc).__name__}: {exc}"
        os.write(write_fd, problem.encode()[:4000])
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 4096):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode("utf-8", "replace")
