"""The learner's project as a behaviour sees it, and the errors addressed to the learner."""

from __future__ import annotations

import importlib
import importlib.util
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType


class LearnerError(Exception):
    """A failure whose message is addressed to the learner (missing file, import error...)."""


class BehaviourTimeout(BaseException):
    """Raised inside the learner's code when a behaviour runs past its limit.

    A BaseException, so a learner's `except Exception:` cannot swallow it.
    """


class Project:
    """The learner's project (or the reference one) as a behaviour sees it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.src = root / "src"
        self._failed_imports: dict[str, LearnerError] = {}

    def path(self, relative: str) -> Path:
        return self.root / relative

    def require(self, relative: str) -> Path:
        path = self.path(relative)
        if not path.is_file():
            raise LearnerError(
                f"{relative} does not exist yet in your workspace: run the exercise cell "
                "that saves it (the one starting with %%save)."
            )
        return path

    def module(self, dotted: str) -> ModuleType:
        """Import one of the project's modules, with learner-friendly errors."""
        if dotted in self._failed_imports:
            raise self._failed_imports[dotted]
        relative = "src/" + dotted.replace(".", "/") + ".py"
        path = self.require(relative)
        try:
            return _explained_import(relative, path, lambda: importlib.import_module(dotted))
        except LearnerError as error:
            self._failed_imports[dotted] = error  # a broken import fails fast the next time
            raise

    def load_file(self, relative: str, name: str) -> ModuleType:
        """Import a file of the project by path as module `name` (e.g. a learner's tests)."""
        path = self.require(relative)

        def load() -> ModuleType:
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module

        return _explained_import(relative, path, load)

    def function(self, dotted: str, name: str) -> Callable:
        module = self.module(dotted)
        func = getattr(module, name, None)
        if not callable(func):
            raise LearnerError(
                f"src/{dotted.replace('.', '/')}.py has no function named {name!r}: "
                "check the spelling of the def line."
            )
        return func


def _explained_import(relative: str, path: Path, load: Callable[[], ModuleType]) -> ModuleType:
    """Run `load`, turning whatever the learner's file does wrong into a LearnerError."""
    try:
        return load()
    except SyntaxError as exc:
        raise LearnerError(f"{relative} has a syntax error on line {exc.lineno}: {exc.msg}."
                           ) from None
    except ModuleNotFoundError as exc:
        raise LearnerError(f"Importing {relative} failed: module {exc.name!r} was not found. "
                           "Check the import lines at the top of the file.") from None
    except BehaviourTimeout as exc:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
                 if f.filename == str(path)]
        at = f" (still at line {lines[-1]})" if lines else ""
        raise LearnerError(f"Importing {relative} did not finish in time{at}: code at the top "
                           "level of the module loops or waits. Keep the top level to imports "
                           "and definitions.") from None
    except Exception as exc:  # noqa: BLE001 - any error at import is the learner's to see
        raise LearnerError(f"Importing {relative} raised {type(exc).__name__}: "
                           f"{str(exc)[:300]}. Code at the top level of a module runs on import: "
                           "keep it to imports, constants and definitions.") from None
