"""course.learner.deploy: terraform apply against moto, or one line saying why not."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from course.learner import deploy
from course.workspace import course_home

REPOSITORY = course_home()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPOSITORY / "terraform", tmp_path / "terraform",
                    ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    (tmp_path / "build").mkdir()
    for name in ("function.zip", "layer.zip"):
        (tmp_path / "build" / name).write_bytes(b"PK\x05\x06" + b"\0" * 18)
    return tmp_path


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the skip path must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_without_a_provider_it_says_so_in_one_line_and_does_nothing(
        project: Path, monkeypatch: pytest.MonkeyPatch, no_network: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(deploy, "installed_provider", lambda root: None)
    result = deploy.deploy_to_moto(project)
    assert not result.ran and "provider is not installed" in result.message
    assert capsys.readouterr().out.count("\n") == 1
    assert deploy.main([str(project)]) == 0


def test_without_terraform_or_without_the_zips_it_says_so(
        project: Path, monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    monkeypatch.setattr(deploy.shutil, "which", lambda name: None)
    assert "terraform is not installed" in deploy.deploy_to_moto(project).message
    monkeypatch.undo()
    (project / "build" / "layer.zip").unlink()
    assert "build/layer.zip are missing" in deploy.deploy_to_moto(project).message


def test_an_installed_provider_is_found_where_terraform_keeps_them(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_PLUGIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(deploy, "CACHE", tmp_path / "nothing")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert deploy.installed_provider(project) is None
    binary = tmp_path / "cache" / deploy.PROVIDER / "6.20.0" / "linux_amd64"
    binary.mkdir(parents=True)
    (binary / "terraform-provider-aws_v6.20.0_x5").write_bytes(b"")
    assert deploy.installed_provider(project) == tmp_path / "cache"


REASON = ("Terraform's AWS provider is not installed on this machine, and the provider registry "
          "cannot be reached from it: the apply against moto runs where it is installed")


@pytest.mark.skipif(shutil.which("terraform") is None
                    or deploy.installed_provider(REPOSITORY) is None, reason=REASON)
def test_the_reference_configuration_applies_to_moto(tmp_path: Path) -> None:
    shutil.copytree(REPOSITORY / "terraform", tmp_path / "terraform",
                    ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    import importlib.util

    from course.learner import wheelhouse

    spec = importlib.util.spec_from_file_location("build_lambda", REPOSITORY / "build_lambda.py")
    assert spec and spec.loader
    build_lambda = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_lambda)
    build_lambda.build(tmp_path / "build", wheelhouse=wheelhouse.path(),
                       root=REPOSITORY)
    result = deploy.deploy_to_moto(tmp_path)
    assert result.ok, (result.message, result.problems, result.log[-3000:])
    assert len(result.created["functions"]) == 3
