"""The pipeline templates repository's build validation (pipelines/validate.yml) passes on the renderer the stack
ships, and fails on a renderer whose stream is not the YAML of its objects.

Its branch policy is blocking: a validation that cannot pass on the shipped renderer stops every pull request of the
repository. The tests run the committed step's own bash in a directory laid out like the repository's checkout. The
install step is run on its own (it needs the package index); elsewhere `python` is this virtualenv's interpreter,
whose PyYAML is the same locked version the install step pins (asserted below).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.service_files.layout import MANIFEST_RENDERER, PLATFORM_SOURCE_DIR, TEMPLATES_VALIDATION_TEMPLATE
from components.service_files.platform import PROGRAM_LOCK, locked_requirement, validation_template
from tests.test_pipeline_files import CTX, TEMPLATES

RENDERER = PLATFORM_SOURCE_DIR / MANIFEST_RENDERER
TIMEOUT_SECONDS = 120


def _steps() -> list[dict[str, Any]]:
    # The file the stack commits, so what runs here is what the agent runs.
    committed = yaml.safe_load(TEMPLATES[TEMPLATES_VALIDATION_TEMPLATE])
    assert committed == validation_template(CTX)
    steps: list[dict[str, Any]] = committed["steps"]
    return steps


def _step(name: str) -> dict[str, Any]:
    (step,) = [step for step in _steps() if step.get("displayName") == name]
    return step


def _run_check(tmp_path: Path, renderer: str, script: str | None = None) -> subprocess.CompletedProcess[str]:
    """The render step's bash in a checkout holding `renderer`, with this interpreter first on PATH."""
    step = _step("Render the manifests of a sample service")
    (tmp_path / MANIFEST_RENDERER).parent.mkdir(parents=True)
    (tmp_path / MANIFEST_RENDERER).write_text(renderer, encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, **step["env"], "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", script or step["bash"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_the_validation_passes_on_the_shipped_renderer(tmp_path: Path) -> None:
    result = _run_check(tmp_path, RENDERER.read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stderr
    assert "staging.yaml: ServiceAccount/sample, Deployment/sample" in result.stdout
    assert "Ingress/sample" in result.stdout


def test_the_validation_parses_with_the_pyyaml_the_install_step_pins() -> None:
    # The pin the install step writes is the stack's own lock entry, and this interpreter runs that version.
    install = _step("Install the YAML parser")["bash"]
    entry = locked_requirement("pyyaml")
    assert entry.startswith(f"pyyaml=={yaml.__version__} \\\n")
    assert "--hash=sha256:" in entry
    assert entry in install
    assert "--require-hashes" in install
    steps = _steps()
    (use_python,) = [step for step in steps if step.get("task") == "UsePythonVersion@0"]
    assert use_python["inputs"]["versionSpec"] == CTX.python_version
    assert (
        steps.index(use_python)
        < steps.index(_step("Install the YAML parser"))
        < steps.index(_step("Render the manifests of a sample service"))
    )


def test_a_lock_without_the_package_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(PROGRAM_LOCK.read_text(encoding="utf-8").replace("pyyaml==", "pyyaml-not==", 1))
    with pytest.raises(ValueError, match=r"requirements\.txt has no pyyaml== entry"):
        locked_requirement("pyyaml", lock)


@pytest.mark.network
@pytest.mark.slow
def test_the_install_step_installs_the_pinned_parser_by_hash(tmp_path: Path) -> None:
    environment = tmp_path / "agent-python"
    venv.EnvBuilder(with_pip=True).create(environment)
    temp = tmp_path / "agent-temp"
    temp.mkdir()
    script = _step("Install the YAML parser")["bash"].replace("$(Agent.TempDirectory)", str(temp))
    env = {**os.environ, "PATH": f"{environment / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    subprocess.run(["bash", "-c", script], env=env, check=True, timeout=TIMEOUT_SECONDS, capture_output=True)
    version = subprocess.run(
        [environment / "bin" / "python", "-c", "import yaml; print(yaml.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert version.stdout.strip() == yaml.__version__


def _download_for_the_agent(requirement: str, directory: Path) -> subprocess.CompletedProcess[str]:
    """pip's own resolution of `requirement` for the agent's Python (UsePythonVersion's version) on Linux x86-64,
    hash-checked as `--require-hashes` checks it: the test's interpreter may be another Python."""
    requirements = directory / "requirements.txt"
    requirements.write_text(requirement + "\n", encoding="utf-8")
    return subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps"),
            *("--only-binary=:all:", "--python-version", CTX.python_version, "--platform", "manylinux_2_17_x86_64"),
            *("--require-hashes", "-r", str(requirements), "-d", str(directory / "wheels")),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


@pytest.mark.network
@pytest.mark.slow
def test_the_pinned_parser_has_a_hashed_wheel_for_the_agents_python(tmp_path: Path) -> None:
    pin = locked_requirement("pyyaml")
    result = _download_for_the_agent(pin, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "wheels").iterdir()
    assert f"-cp{CTX.python_version.replace('.', '')}-" in wheel.name
    digest = f"--hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}"
    assert digest in pin
    # Planted: the pin without the agent's wheel's hash.
    lines = [line.strip().removesuffix("\\").strip() for line in pin.splitlines()]
    pruned = " ".join(line for line in lines if line != digest)
    (tmp_path / "planted").mkdir()
    planted = _download_for_the_agent(pruned, tmp_path / "planted")
    assert planted.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in planted.stderr


# --- planted mistakes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # A key of a nested mapping written without its colon: the scanner finds no ":" where a key must end.
        pytest.param(
            'lines.append(f"{pad}{_key(key)}:")',
            'lines.append(f"{pad}{_key(key)}")',
            "yaml.scanner.ScannerError",
            id="broken-yaml",
        ),
        # Valid YAML, but a string such as "8080" or "true" unquoted reads back as a number or a boolean.
        pytest.param(
            "return json.dumps(str(value))",
            "return str(value)",
            "does not parse to the objects the renderer built",
            id="scalars-change-type",
        ),
    ],
)
def test_a_renderer_whose_stream_is_not_its_objects_fails_the_validation(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    source = RENDERER.read_text(encoding="utf-8")
    planted = source.replace(old, new)
    assert planted != source
    result = _run_check(tmp_path, planted)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_renderer_that_fails_fails_the_validation(tmp_path: Path) -> None:
    result = _run_check(tmp_path, "import sys\nsys.exit(3)\n")
    assert result.returncode == 3
