"""Thin wrappers that run externally written validators on rendered files, as subprocesses.

The validators live in their own virtualenv (`.venv-validators`, or the directory named by `AKS_ESTATE_VALIDATORS_BIN`)
because checkov's pins conflict with the Pulumi SDK. Each wrapper writes the given {repository path: content} files to a
scratch directory, runs one validator over all of them at once, and raises an AssertionError carrying the validator's
own output when it fails, or when it checked nothing. A checkov start costs ~2.5 s (importing its runners), so
`checkov_scan` reads several trees (the files under test and planted variants, of any frameworks) in one run and
reports on each tree apart; `clean` judges one.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
VALIDATORS_BIN_ENV = "AKS_ESTATE_VALIDATORS_BIN"
# The newest Kubernetes release whose schemas kubernetes-validate 1.37.0 ships in its package data
# (kubernetes_validate/kubernetes-json-schema/v1.25.0-local ... v1.37.0-local); it validates offline.
KUBERNETES_VERSION = "1.37.0"
AZURE_PIPELINES_SUFFIX = "azure-pipelines.yml"
_TIMEOUT_SECONDS = 300
# Whether the test running now carries the `validators` marker (tests/conftest.py sets it; None outside pytest). A
# validator refuses to start in an unmarked test, so `-m "not validators"` really leaves every validator out.
IN_MARKED_TEST: ContextVar[bool | None] = ContextVar("IN_MARKED_TEST", default=None)

# Marketplace tasks the pipelines use that Microsoft's published schema (vendored by check-jsonschema as
# `vendor.azure-pipelines`) does not list: it describes the built-in tasks only. Azure DevOps serves each organization
# a schema that adds the tasks of its installed extensions; this is that addition, with the inputs declared in the
# extension's task.json (microsoft/security-devops-azdevops, MicrosoftSecurityDevOps/v1/task.json).
EXTENSION_TASK_INPUTS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "MicrosoftSecurityDevOps@1": {
        "command": {"enum": ["run", "pre-job", "post-job"]},
        "config": {"type": "string"},
        "policy": {"enum": ["azuredevops", "microsoft", "none"]},
        "categories": {"type": "string"},
        "languages": {"type": "string"},
        "tools": {"type": "string"},
        "break": {"type": "boolean"},
        "publish": {"type": "boolean"},
        "artifactName": {"type": "string"},
    },
}


@dataclasses.dataclass(frozen=True)
class ValidatorResult:
    command: tuple[str, ...]
    returncode: int
    # stdout and stderr, as a person running the command would see them.
    output: str
    seconds: float
    stdout: str
    # checkov only: the check IDs that failed and that were skipped by an in-file annotation.
    failed_checks: frozenset[str] = frozenset()
    skipped_checks: frozenset[str] = frozenset()
    # checkov only: the files (as `/<path>` under the scanned tree) some check reported on.
    scanned_files: frozenset[str] = frozenset()
    # checkov only: (check ID, resource) of every failed check, and one line per failure for a failure message.
    failures: frozenset[tuple[str, str]] = frozenset()
    findings: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class CheckovTree:
    """Files for one of checkov's frameworks, named as that framework reads them, and the ones it must report on."""

    framework: str
    files: Mapping[str, str]
    expected: frozenset[str]


def pipelines_tree(files: Mapping[str, str]) -> CheckovTree:
    """checkov's azure_pipelines framework reads only files named `*azure-pipelines.yml`, so templates are written
    under that suffix. Only jobs are checkov resources there: a steps-only template yields nothing to scan."""
    named = {_checkov_pipeline_name(path): content for path, content in files.items()}
    expected = frozenset(f"/{path}" for path, content in named.items() if _has_jobs(content))
    return CheckovTree("azure_pipelines", named, expected)


def kubernetes_tree(files: Mapping[str, str]) -> CheckovTree:
    """Manifests; a check skipped by a `checkov.io/skip*` annotation is reported as skipped, not failed."""
    return CheckovTree("kubernetes", dict(files), frozenset(f"/{path}" for path in files))


def arm_tree(template: Mapping[str, Any]) -> CheckovTree:
    return CheckovTree("arm", {"estate.json": json.dumps(template)}, frozenset({"/estate.json"}))


def validators_bin() -> Path:
    configured = os.environ.get(VALIDATORS_BIN_ENV)
    return Path(configured) if configured else REPO_ROOT / ".venv-validators" / "bin"


def check_jsonschema_azure_pipelines(files: Mapping[str, str]) -> list[ValidatorResult]:
    """Microsoft's Azure Pipelines schema over every pipeline file, templates included.

    Step, job and stage templates are valid documents of that schema (it has `parameters` + `steps`/`jobs`/`stages`
    forms), so they are checked like entry files. Files that use an extension task are checked against the published
    schema plus `EXTENSION_TASK_INPUTS`; all others against the published schema as shipped. One result per run.
    """
    with _scratch(files) as (root, paths):
        builtin = [path for path, content in zip(paths, files.values(), strict=True) if not _extension_tasks(content)]
        extended = [path for path in paths if path not in builtin]
        common = ["--data-transform", "azure-pipelines", "--regex-variant", "nonunicode"]
        results = []
        if builtin:
            schema = ["--builtin-schema", "vendor.azure-pipelines"]
            results.append(_run("check-jsonschema", [*schema, *common, *map(str, builtin)], cwd=root))
        if extended:
            schema_file = root.parent / "azure-pipelines-with-extensions.json"
            schema_file.write_text(_schema_with_extension_tasks(), encoding="utf-8")
            results.append(_run("check-jsonschema", ["--schemafile", str(schema_file), *common, *map(str, extended)]))
        for result in results:
            _require(result, result.returncode == 0)
        return results


def checkov_scan(trees: Mapping[str, CheckovTree]) -> dict[str, ValidatorResult]:
    """One checkov run over several trees, each in a directory of its own, with every framework they need: per tree,
    what failed, was skipped and was scanned (paths relative to the tree). Raises when checkov's report cannot be read,
    has parsing errors, or leaves out a file a tree expects; what the checks found is for `clean` or the caller.
    `--quiet` is left out: it drops passed checks from the JSON, which tells which files were scanned.

    checkov reports each check on the file it read (`file_path`), so a tree holding a planted variant of a file gets
    the variant's own verdict: over the clean and planted trees of every module in tests/conftest.py
    `CHECKOV_MODULES` (three frameworks), one run reported file by file exactly what one run per module did (checkov
    3.3.30). Each tree is written under a directory of its own number, so no tree's name can contain another's files;
    a tree's `returncode` is what checkov would have returned for it alone (1 when a check failed there, else 0); its
    output is the whole run's."""
    directories = {name: f"t{index}" for index, name in enumerate(trees)}
    files = {
        f"{directories[name]}/{path}": content for name, tree in trees.items() for path, content in tree.files.items()
    }
    frameworks = sorted({tree.framework for tree in trees.values()})
    with _scratch(files) as (root, _):
        args = ["--framework", *frameworks, "--skip-download", "--compact", "-o", "json", "-d", str(root)]
        run = _run("checkov", args, cwd=root)
    checks = _checkov_checks(run)
    failed_anywhere = any(kind == "failed_checks" for kind, _ in checks)
    # checkov exits 1 for a failed check; any other non-zero exit is an error of the run itself.
    _require(run, run.returncode == 0 or (run.returncode == 1 and failed_anywhere))
    owners = {directory: name for name, directory in directories.items()}
    claimed: dict[str, list[tuple[str, dict[str, Any]]]] = {name: [] for name in trees}
    for kind, check in checks:
        directory, _, path = check["file_path"].removeprefix("/").partition("/")
        _require(run, directory in owners and bool(path), [f"a check on a file of no tree: {check['file_path']}"])
        claimed[owners[directory]].append((kind, {**check, "file_path": f"/{path}"}))
    results = {}
    for name, tree in trees.items():
        mine = claimed[name]
        failed = [check for kind, check in mine if kind == "failed_checks"]
        result = dataclasses.replace(
            run,
            returncode=1 if failed else 0,
            failed_checks=frozenset(check["check_id"] for check in failed),
            skipped_checks=frozenset(check["check_id"] for kind, check in mine if kind == "skipped_checks"),
            scanned_files=frozenset(check["file_path"] for _, check in mine),
            failures=frozenset((check["check_id"], check["resource"]) for check in failed),
            findings=tuple(f"{c['check_id']} {c['check_name']}: {c['file_path']} {c['resource']}" for c in failed),
        )
        unscanned = sorted(tree.expected - result.scanned_files)
        _require(result, not unscanned, [f"{name}: not scanned: {unscanned}"])
        results[name] = result
    return results


def clean(result: ValidatorResult) -> ValidatorResult:
    """`result` when no check failed on its tree; else an AssertionError naming each failed check and file."""
    _require(result, not result.failed_checks, result.findings)
    return result


def kubernetes_validate(
    files: Mapping[str, str], kubernetes_versions: Sequence[str] = (KUBERNETES_VERSION,)
) -> ValidatorResult:
    """kubernetes-validate --strict: every resource against the OpenAPI schemas of each Kubernetes release given.

    The tool only warns, with exit status 0, about a kind or apiVersion it has no schema for; any line other than a
    pass counts as a failure here, and every document must have passed for every release.
    """
    versions = [arg for version in kubernetes_versions for arg in ("--kubernetes-version", version)]
    with _scratch(files) as (root, paths):
        result = _run("kubernetes-validate", ["--strict", *versions, *map(str, paths)], cwd=root)
    lines = result.stdout.splitlines()
    documents = sum(1 for content in files.values() for document in yaml.safe_load_all(content) if document)
    passed = [line for line in lines if line.startswith("INFO ") and " passed for resource " in line]
    _require(result, result.returncode == 0 and len(passed) == len(lines) == documents * len(kubernetes_versions))
    return result


# --- plumbing -------------------------------------------------------------------------------------------------------


@contextmanager
def _scratch(files: Mapping[str, str]) -> Iterator[tuple[Path, list[Path]]]:
    """The files under `<tmp>/files`, so that anything a wrapper adds to `<tmp>` stays out of the validated tree."""
    with tempfile.TemporaryDirectory(prefix="aks-estate-validate-") as tmp:
        root = Path(tmp) / "files"
        paths = []
        for relative, content in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            paths.append(path)
        yield root, paths


def _run(tool: str, args: Sequence[str], cwd: Path | None = None) -> ValidatorResult:
    if IN_MARKED_TEST.get() is False:
        raise AssertionError(
            f"{tool} runs in a test without @pytest.mark.validators: mark it, or the fast loop would run it"
        )
    executable = validators_bin() / tool
    if not executable.is_file():
        raise AssertionError(
            f"{executable} not found: create the validators' virtualenv with `python3.11 -m venv .venv-validators && "
            f".venv-validators/bin/pip install -r requirements-validators.txt`, or set {VALIDATORS_BIN_ENV}"
        )
    command = (str(executable), *args)
    started = time.monotonic()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False)
    return ValidatorResult(
        command=command,
        returncode=completed.returncode,
        output=completed.stdout + completed.stderr,
        seconds=time.monotonic() - started,
        stdout=completed.stdout,
    )


def _require(result: ValidatorResult, ok: bool, findings: Sequence[str] = ()) -> None:
    if not ok:
        detail = "\n".join(findings) if findings else result.output
        raise AssertionError(f"{' '.join(result.command)} failed (exit {result.returncode}):\n{detail}")


def _checkov_checks(result: ValidatorResult) -> list[tuple[str, dict[str, Any]]]:
    """(passed_checks/failed_checks/skipped_checks, check) for every check of checkov's JSON report, every framework."""
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        report = None
    _require(result, isinstance(report, dict | list))
    # One framework yields one report object; several yield a list of them.
    reports = report if isinstance(report, list) else [report]
    _require(result, all(each["summary"]["parsing_errors"] == 0 for each in reports))
    return [
        (kind, check)
        for each in reports
        for kind in ("passed_checks", "failed_checks", "skipped_checks")
        for check in each.get("results", {}).get(kind, [])
    ]


def _checkov_pipeline_name(path: str) -> str:
    if path.endswith(AZURE_PIPELINES_SUFFIX):
        return path
    return f"{path.removesuffix('.yml').removesuffix('.yaml')}.{AZURE_PIPELINES_SUFFIX}"


def _has_jobs(content: str) -> bool:
    document = yaml.safe_load(content)
    return isinstance(document, dict) and ("jobs" in document or "stages" in document)


def _tasks(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("task"), str):
            yield node["task"]
        for value in node.values():
            yield from _tasks(value)
    elif isinstance(node, list):
        for item in node:
            yield from _tasks(item)


def _extension_tasks(content: str) -> set[str]:
    return {task for task in _tasks(yaml.safe_load(content)) if task in EXTENSION_TASK_INPUTS}


@functools.cache
def _schema_with_extension_tasks() -> str:
    schema: dict[str, Any] = json.loads(azure_pipelines_schema().read_text(encoding="utf-8"))
    task = schema["definitions"]["task"]
    for name, inputs in EXTENSION_TASK_INPUTS.items():
        task["properties"]["task"]["anyOf"].append({"enum": [name]})
        task["anyOf"].append(
            {
                "properties": {
                    "task": {"pattern": f"^{name}$"},
                    "inputs": {"properties": copy.deepcopy(dict(inputs)), "additionalProperties": False},
                },
                "required": ["task"],
            }
        )
    return json.dumps(schema)


def azure_pipelines_schema() -> Path:
    """Microsoft's published Azure Pipelines schema as check-jsonschema vendors it (`vendor.azure-pipelines`): a file
    of the validators' virtualenv, read without running anything."""
    pattern = "lib/python3*/site-packages/check_jsonschema/builtin_schemas/vendor/azure-pipelines.json"
    found = sorted(validators_bin().parent.glob(pattern))
    if not found:
        raise AssertionError(f"check-jsonschema's Azure Pipelines schema is not under {validators_bin().parent}")
    return found[0]
