"""Build the deployment packages of the users service (lesson 07).

    python build_lambda.py --wheelhouse WHEELHOUSE [--arch arm64|x86_64] [--python 3.13]

writes build/function.zip (the content of src/) and build/layer.zip (the dependencies of
requirements-lambda.txt under python/), both reproducible: the same files give the same bytes,
so Terraform's source_code_hash changes only when the code or a dependency does.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RUNTIME = "3.13"  # the function's runtime: python3.13
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
CACHES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


def install_dependencies(requirements: Path, target: Path, *, wheelhouse: Path,
                         arch: str | None = "arm64", python: str | None = RUNTIME) -> None:
    """Install the pinned, hashed requirements into `target`, from the wheelhouse only, for
    Lambda's platform: Linux on `arch` and Python `python`. arch=None and python=None build for
    the interpreter running this script instead (a build this machine can import)."""
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
               "--quiet", "--requirement", str(requirements), "--target", str(target),
               "--require-hashes", "--no-deps", "--only-binary=:all:", "--no-compile",
               "--no-index", "--find-links", str(wheelhouse)]
    if arch is not None:
        if arch not in PLATFORMS:
            raise ValueError(f"arch must be one of {sorted(PLATFORMS)}, not {arch!r}")
        command += ["--platform", PLATFORMS[arch], "--implementation", "cp"]
    if python is not None:
        command += ["--python-version", python]
    subprocess.run(command, check=True)


def write_zip(archive: Path, *trees: Path, prefix: str = "") -> None:
    """Write every file of each tree into `archive`, at `prefix` + its path in the tree,
    leaving out caches. Reproducible: the same files give the same bytes."""
    entries = {}
    for tree in trees:
        for path in tree.rglob("*"):
            relative = path.relative_to(tree)
            if path.is_file() and not CACHES & set(relative.parts) and path.suffix != ".pyc":
                entries[prefix + relative.as_posix()] = path
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = 0o100644 << 16  # a regular file that anyone may read
            info.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(info, entries[name].read_bytes())


def build(out: Path, *, wheelhouse: Path, arch: str | None = "arm64",
          python: str | None = RUNTIME, root: Path = ROOT) -> tuple[Path, Path]:
    """Build out/function.zip (src/) and out/layer.zip (the dependencies, under python/) for
    one platform, from nothing left by an earlier build. Returns both paths."""
    dependencies = out / "dependencies"
    shutil.rmtree(dependencies, ignore_errors=True)  # pip --target never replaces what is there
    install_dependencies(root / "requirements-lambda.txt", dependencies, wheelhouse=wheelhouse,
                         arch=arch, python=python)
    function, layer = out / "function.zip", out / "layer.zip"
    write_zip(function, root / "src")
    write_zip(layer, dependencies, prefix="python/")
    return function, layer


def source_code_hash(archive: Path) -> str:
    """What Terraform's filebase64sha256() gives for the file: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(archive.read_bytes()).digest()).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheelhouse", type=Path, required=True)
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument("--python", default=RUNTIME)
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    options = parser.parse_args()
    for archive in build(options.out, wheelhouse=options.wheelhouse, arch=options.arch,
                         python=options.python):
        print(f"{archive}: {archive.stat().st_size:,} bytes, "
              f"source_code_hash {source_code_hash(archive)}")


if __name__ == "__main__":
    main()
