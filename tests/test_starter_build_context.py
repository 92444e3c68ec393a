"""The starter's Dockerfile finds every file it copies in the build context its .dockerignore leaves, the test code
it copies for the pipelines' test stages never reaches the runtime image, and its HEALTHCHECK reports what the
liveness probe would.

The `test` stage and those built on it (test-results, integration-test, acceptance) are what a `build: container`
pipeline runs (pipelines/platform/steps/container-tests.yml, `docker build --target ...`; CD's acceptance run): a
source the context lacks fails `docker build` with "not found" on the first run. The matcher is tests/dockerignore.py,
a port of moby/patternmatcher, checked here against upstream's own cases.
"""

from __future__ import annotations

import http.server
import json
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from components.devops.repository import starter_files
from components.service_files.manifests import kubernetes_manifest, manifest_parameters
from components.service_files.spec import ServiceSpec
from tests.dockerignore import excluded, read_patterns
from tools.capture import ROOT

STARTER = starter_files()
# The starter's package, as the runtime venv holds it.
SERVICE_SOURCE = ROOT / "templates" / "service" / "src"


@dataclass(frozen=True)
class Copy:
    stage: str
    sources: tuple[str, ...]
    from_stage: str | None
    line: str


def _instructions(dockerfile: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in dockerfile.splitlines():
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append((pending + raw).strip())
        pending = ""
    return lines


def parse(dockerfile: str) -> tuple[dict[str, str], list[Copy]]:
    """Each stage's parent (a stage name or an image) and every COPY/ADD with the stage it is in."""
    parents: dict[str, str] = {}
    copies: list[Copy] = []
    stage = ""
    for line in _instructions(dockerfile):
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            words = rest.split()
            stage = words[2] if len(words) == 3 and words[1].upper() == "AS" else words[0]
            parents[stage] = words[0]
        elif keyword.upper() in {"COPY", "ADD"}:
            words = shlex.split(rest)
            flags = [word for word in words if word.startswith("--")]
            arguments = words[len(flags) :]
            if arguments and arguments[0].startswith("["):
                arguments = json.loads(" ".join(arguments))
            from_stage = next((flag.split("=", 1)[1] for flag in flags if flag.startswith("--from=")), None)
            copies.append(Copy(stage, tuple(arguments[:-1]), from_stage, line))
    return parents, copies


def context_sources_missing(dockerfile: str, dockerignore: str, files: dict[str, str]) -> list[str]:
    """The context sources (COPY/ADD without --from) that are not in the build context, each with its reason."""
    patterns = read_patterns(dockerignore)
    missing = []
    for copy in parse(dockerfile)[1]:
        if copy.from_stage is not None:
            continue
        for source in (written.rstrip("/").removeprefix("./") for written in copy.sources):
            assert not set("*?[") & set(source), f"{source}: wildcard sources are not handled by this check"
            under = [path for path in files if path == source or path.startswith(source + "/")]
            if not under:
                missing.append(f"{source}: no such file in the starter ({copy.line})")
            missing.extend(f"{source}: {path} excluded by .dockerignore" for path in under if excluded(path, patterns))
    return missing


def runtime_context_sources(dockerfile: str, stage: str = "runtime") -> set[str]:
    """Every context source that can reach `stage`: through its parent stages and the stages it copies from."""
    parents, copies = parse(dockerfile)
    seen: set[str] = set()
    sources: set[str] = set()
    todo = [stage]
    while todo:
        current = todo.pop()
        if current in seen or current not in parents:
            continue
        seen.add(current)
        todo.append(parents[current])
        for copy in copies:
            if copy.stage == current:
                if copy.from_stage is None:
                    sources.update(source.rstrip("/").removeprefix("./") for source in copy.sources)
                else:
                    todo.append(copy.from_stage)
    return sources


def test_every_file_the_dockerfile_copies_is_in_the_build_context() -> None:
    assert context_sources_missing(STARTER["Dockerfile"], STARTER[".dockerignore"], STARTER) == []


def test_the_test_stages_copy_what_the_pipelines_need() -> None:
    # Guards the check above against a parse that finds nothing: these are the test stage's own inputs.
    copied = {source for copy in parse(STARTER["Dockerfile"])[1] for source in copy.sources if copy.stage == "test"}
    assert {"requirements-dev.txt", "tests"} <= copied


def test_the_runtime_image_holds_no_test_code() -> None:
    assert runtime_context_sources(STARTER["Dockerfile"]) == {"requirements.txt", "pyproject.toml", "README.md", "src"}


def healthcheck_command(dockerfile: str) -> list[str]:
    """The exec-form command of the Dockerfile's one HEALTHCHECK."""
    (line,) = [line for line in _instructions(dockerfile) if line.startswith("HEALTHCHECK ")]
    command: list[str] = json.loads(line.split(" CMD ", 1)[1])
    return command


@contextmanager
def _serving(status: int) -> Iterator[tuple[int, list[str]]]:
    """A local server answering every GET with `status`; yields its port and the paths asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()


def _health(command: list[str], port: int) -> int:
    # The image's `python` is the runtime venv's; this test's interpreter runs the same standard-library code.
    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": str(SERVICE_SOURCE)}
    return subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False).returncode


def healthcheck_problems(dockerfile: str) -> list[str]:
    """How the HEALTHCHECK fails its job: Docker (`docker run`, Compose) marks the container unhealthy after
    `--retries` non-zero exits (Dockerfile reference, HEALTHCHECK), so the command must exit 0 exactly when the
    service answers the request the Deployment's liveness probe makes, on the port the image serves on."""
    command = healthcheck_command(dockerfile)
    parameters = manifest_parameters(ServiceSpec(name="orders"), {"staging": "a", "production": "b"})
    (deployment,) = [o for o in kubernetes_manifest(parameters, "staging", "r", "c") if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    liveness = container["livenessProbe"]["httpGet"]["path"]
    problems = []
    with _serving(200) as (port, asked):
        if _health(command, port) != 0:
            problems.append("exits non-zero while the service answers 200")
    if asked != [liveness]:
        problems.append(f"asks {asked}, not the liveness probe's {liveness}")
    with _serving(503) as (port, asked):
        if _health(command, port) == 0:
            problems.append("exits 0 while the service answers 503")
    return problems


def test_the_healthcheck_asks_the_liveness_probe_path_and_reports_its_answer() -> None:
    assert healthcheck_problems(STARTER["Dockerfile"]) == []


def _asked_port(dockerfile: str, port: str) -> str:
    """The port the HEALTHCHECK's command asks for with PORT=`port`, its request caught before it leaves."""
    code = healthcheck_command(dockerfile)[-1]
    catch = "import urllib.request\nurllib.request.urlopen = lambda url, **_: print(url.split(':')[2].split('/')[0])\n"
    env = {**os.environ, "PORT": port, "PYTHONPATH": str(SERVICE_SOURCE)}
    done = subprocess.run([sys.executable, "-c", catch + code], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _service_port(port: str) -> str:
    """The port the starter service listens on with PORT=`port` (src/service/config.py)."""
    code = "import os; from service.config import Settings; print(Settings.from_env(os.environ).port)"
    env = {**os.environ, "PORT": port, "PYTHONPATH": str(SERVICE_SOURCE)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize("port", ["", "  ", "9090"])
def test_the_healthcheck_reads_the_port_as_the_service_does(port: str) -> None:
    # A blank PORT is the service's default, not an empty port (which http.client reads as 80).
    assert _asked_port(STARTER["Dockerfile"], port) == _service_port(port)


def test_a_healthcheck_reading_port_by_hand_is_caught() -> None:
    by_hand = STARTER["Dockerfile"].replace(
        "f'http://127.0.0.1:{Settings.from_env(os.environ).port}/healthz'",
        "'http://127.0.0.1:' + os.environ['PORT'] + '/healthz'",
    )
    assert by_hand != STARTER["Dockerfile"]
    assert _asked_port(by_hand, "") != _service_port("")


def test_local_files_below_the_allowed_folders_stay_out_of_the_context() -> None:
    patterns = read_patterns(STARTER[".dockerignore"])
    local = ["tests/integration/.env", "src/service/.env", "tests/.venv/bin/python", "tests/.pytest_cache/v/x"]
    assert [path for path in local if not excluded(path, patterns)] == []
    # Planted: the exclusions above the allow-list, where the allow-list's later lines win again.
    lines = STARTER[".dockerignore"].splitlines()
    moved = "\n".join(
        [*(line for line in lines if line.startswith("**/")), *(line for line in lines if not line.startswith("**/"))]
    )
    assert [path for path in local if not excluded(path, read_patterns(moved))] != []


# --- planted mistakes ---------------------------------------------------------------------------------------------


def test_an_allow_list_without_the_test_inputs_is_caught() -> None:
    # The allow-list as first shipped: the runtime's inputs only.
    shipped = "*\n!pyproject.toml\n!README.md\n!requirements.txt\n!src/\n**/__pycache__\n**/*.egg-info\n"
    missing = context_sources_missing(STARTER["Dockerfile"], shipped, STARTER)
    assert "requirements-dev.txt: requirements-dev.txt excluded by .dockerignore" in missing
    assert "tests: tests/unit/test_app.py excluded by .dockerignore" in missing
    assert {entry.split(":")[0] for entry in missing} == {"requirements-dev.txt", "tests"}


def test_dropping_the_source_from_the_allow_list_is_caught() -> None:
    dockerignore = STARTER[".dockerignore"].replace("!src/\n", "")
    assert dockerignore != STARTER[".dockerignore"]
    missing = context_sources_missing(STARTER["Dockerfile"], dockerignore, STARTER)
    assert "src: src/service/app.py excluded by .dockerignore" in missing


def test_a_source_missing_from_the_starter_is_caught() -> None:
    dockerfile = STARTER["Dockerfile"].replace("COPY tests ./tests", "COPY test ./tests")
    assert any(entry.startswith("test: no such file") for entry in context_sources_missing(dockerfile, "", STARTER))


@pytest.mark.parametrize(
    ("original", "planted", "problem"),
    [
        ("/healthz'", "/readyz'", "not the liveness probe's /healthz"),
        ("urllib.request.urlopen(", "0 and urllib.request.urlopen(", "exits 0 while the service answers 503"),
        ("Settings.from_env(os.environ).port", "8080", "exits non-zero while the service answers 200"),
    ],
)
def test_a_healthcheck_that_misreports_is_caught(original: str, planted: str, problem: str) -> None:
    dockerfile = STARTER["Dockerfile"].replace(original, planted)
    assert dockerfile != STARTER["Dockerfile"]
    assert any(problem in found for found in healthcheck_problems(dockerfile))


def test_test_code_reaching_the_runtime_image_is_caught() -> None:
    through_parent = STARTER["Dockerfile"].replace("FROM base AS runtime", "FROM test AS runtime")
    assert "tests" in runtime_context_sources(through_parent)
    through_copy = STARTER["Dockerfile"].replace(
        "COPY --from=builder /opt/venv /opt/venv", "COPY --from=builder /opt/venv /opt/venv\nCOPY tests ./tests"
    )
    assert "tests" in runtime_context_sources(through_copy)


# --- the port against upstream ------------------------------------------------------------------------------------

# Cases of moby/patternmatcher patternmatcher_test.go `TestMatches` (commit 5a6d8429), each (patterns, path, matched).
UPSTREAM_CASES = [
    (["**"], "dir/file", True),
    (["**/dir"], "dir/file", True),
    (["**/dir2/*"], "dir/dir2/file", True),
    (["**/file*.txt"], "dir/dir/file.txt", True),
    (["**/**/*.txt2"], "dir/dir/file.txt", False),
    (["a**/*.txt"], "a/dir/dir/file.txt", True),
    (["a/*.txt"], "a/dir/file.txt", False),
    (["a[b-d]e"], "ace", True),
    (["a[^b-d]e"], "aze", True),
    ([".*"], "foo", False),
    (["abc.def"], "abcZdef", False),
    (["abc?def"], "abcZdef", True),
    (["**/foo/bar"], "foo/bar", True),
    (["abc/**"], "abc", False),
    (["abc/**"], "abc/def/ghi", True),
    (["**/.foo"], "bar.foo", False),
    (["a(b)c/def"], "a(b)c/def", True),
    (["a\\\\"], "a\\", True),
    (["a\\*b"], "a*b", True),
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
    # TestPatternMatchesFolderWithSlashExclusions and TestExclusionPatternMatchesPatternAfter.
    (["docs/", "!docs/README.md"], "docs/README.md", False),
    (["*.go", "!fileutils.go"], "fileutils.go", False),
    (["!fileutils.go", "*.go"], "fileutils.go", True),
]


@pytest.mark.parametrize(("patterns", "path", "matched"), UPSTREAM_CASES)
def test_the_matcher_agrees_with_upstream(patterns: list[str], path: str, matched: bool) -> None:
    assert excluded(path, read_patterns("\n".join(patterns))) is matched
