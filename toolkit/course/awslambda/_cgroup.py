"""Give a function process the CPU share Lambda gives its memory size, where Linux lets us.

Lambda allocates CPU in proportion to memory: 1,769 MB is one full vCPU, 128 MB about 7% of
one, 10,240 MB about six. With a writable cgroup (v2, or v1's cpu controller; e.g. as root on
a laptop or in CI) the process gets exactly that quota, so its durations follow Lambda's
model; elsewhere `CpuShare.limited` is False and the caller says so.
"""

from __future__ import annotations

import os
from pathlib import Path

MB_PER_VCPU = 1769
PERIOD_US = 100_000
_V2 = Path("/sys/fs/cgroup")
_V1 = Path("/sys/fs/cgroup/cpu")


def vcpus(memory_mb: int) -> float:
    """Lambda's CPU for a memory size, in vCPUs."""
    return memory_mb / MB_PER_VCPU


class CpuShare:
    """A cgroup holding one function process, its CPU quota set from its memory size."""

    def __init__(self, memory_mb: int, name: str) -> None:
        self.share = vcpus(memory_mb)
        self.path: Path | None = None
        quota = max(1000, int(PERIOD_US * self.share))
        for base, files in ((_V2, {"cpu.max": f"{quota} {PERIOD_US}"}),
                            (_V1, {"cpu.cfs_period_us": str(PERIOD_US),
                                   "cpu.cfs_quota_us": str(quota)})):
            if base == _V2 and "cpu" not in _read(base / "cgroup.subtree_control"):
                continue
            path = base / name
            try:
                path.mkdir(exist_ok=True)
                for file, value in files.items():
                    (path / file).write_text(value)
            except OSError:
                _remove(path)
                continue
            self.path = path
            return

    @property
    def limited(self) -> bool:
        return self.path is not None

    def add(self, pid: int) -> bool:
        """Move process `pid` into the cgroup; False if that failed (it then runs unlimited)."""
        if self.path is None:
            return False
        try:
            (self.path / "cgroup.procs").write_text(str(pid))
        except OSError:
            return False
        return True

    def close(self) -> None:
        if self.path is not None:
            _remove(self.path)
            self.path = None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _remove(path: Path) -> None:
    try:
        os.rmdir(path)  # a cgroup folder goes with rmdir once its processes are gone
    except OSError:
        pass
