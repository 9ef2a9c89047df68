"""The course toolkit. Its whole public surface:

    from course import check, progress, invoke, events

plus `ask()` (a lesson's quick questions), `restore()` (an earlier version of a file),
`doctor()` (the set-up check), `workspace` (where your project lives) and `sandbox`.
Importing it turns the AWS sandbox on (fake credentials, loopback-only network); in a
notebook it also registers `%%save` and starts warming the check worker (the same as
`%load_ext course`). Everything else loads when first used, so the import is cheap.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from course import sandbox

sandbox.activate()

# name -> (module, attribute or None for the module itself), imported on first use
_LAZY = {
    "check": ("course.learner.api", "check"),
    "progress": ("course.learner.api", "progress"),
    "doctor": ("course.learner.api", "doctor"),
    "ask": ("course.learner.questions", "ask"),
    "restore": ("course.learner.save", "restore"),
    "CheckFailed": ("course.learner.api", "CheckFailed"),
    "invoke": ("course.awslambda.invoke", "invoke"),
    "events": ("course.learner.events", None),
    "workspace": ("course.workspace", None),
}
__all__ = ["check", "progress", "invoke", "events", "ask", "restore", "doctor", "workspace",
           "sandbox"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'course' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = importlib.import_module(module)
    return getattr(value, attribute) if attribute else value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext course`: %%save, the learner's src on sys.path, a warm check worker."""
    from course.learner._extension import load

    load(ipython)


_ipython = sys.modules.get("IPython")
if _ipython is not None and _ipython.get_ipython() is not None:
    load_ipython_extension(_ipython.get_ipython())
