"""Any language and existing code: a stack with a service built the container way and one imported from an existing
Git repository previews, and each repository holds exactly what the stack promises."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.devops.repository import starter_files
from components.service_files.layout import ENTRY_PIPELINES
from tests import validators
from tools import capture, pipeline_links
from tools.capture import Capture, Registration

DEVOPS = "azuredevops:index/"
IMPORT_URL = "https://github.com/contoso/inventory.git"
IMPORT_CONNECTION = "3c8f0e2a-61d5-4f0e-9a55-0f1d2b4c6e7a"
SERVICES = [
    {"name": "ledger", "build": "container"},
    {
        "name": "inventory",
        "build": "container",
        "importFrom": IMPORT_URL,
        "importServiceConnectionId": IMPORT_CONNECTION,
    },
]


@pytest.fixture(scope="module")
def sources() -> Capture:
    config, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.prod.yaml")
    return capture.run("prod", {**config, "aks-estate:services": json.dumps(SERVICES)}, secret_keys)


def repository(estate: Capture, name: str) -> Registration:
    (found,) = [r for r in estate.of_type(f"{DEVOPS}git:Git") if r.inputs["name"] == name]
    return found


def files(estate: Capture, name: str) -> dict[str, Registration]:
    repo = repository(estate, name).id
    return {
        r.inputs["file"]: r
        for r in estate.of_type(f"{DEVOPS}gitRepositoryFile:GitRepositoryFile")
        if r.inputs["repositoryId"] == repo
    }


def test_an_imported_repository_is_initialized_from_its_source_and_gets_only_the_stack_files(
    sources: Capture,
) -> None:
    imported = repository(sources, "inventory")
    assert imported.inputs["initialization"] == {
        "initType": "Import",
        "sourceType": "Git",
        "sourceUrl": IMPORT_URL,
        "serviceConnectionId": IMPORT_CONNECTION,
    }
    committed = files(sources, "inventory")
    assert "parentRepositoryId" not in imported.inputs
    assert set(committed) == set(ENTRY_PIPELINES)
    # The source may hold files of the same paths already: the stack's version replaces them.
    assert all(commit.inputs["overwriteOnCreate"] for commit in committed.values())


def test_a_new_repository_is_forked_from_the_starter_in_one_operation(sources: Capture) -> None:
    ledger = repository(sources, "ledger")
    starter = repository(sources, "service-starter")
    assert ledger.inputs["initialization"] == {"initType": "Fork"}
    assert ledger.inputs["parentRepositoryId"] == starter.id
    # The starter's files are the starter repository's; the service repository gets the entry pipelines only.
    assert set(files(sources, "service-starter")) == set(starter_files())
    assert set(files(sources, "ledger")) == set(ENTRY_PIPELINES)


def test_container_built_services_run_their_tests_in_the_dockerfile(sources: Capture) -> None:
    templates = {path: commit.inputs["content"] for path, commit in files(sources, "pipeline-templates").items()}
    for name in ("ledger", "inventory"):
        entries = {path: commit.inputs["content"] for path, commit in files(sources, name).items()}
        ci: dict[str, Any] = pipeline_links.expand({**templates, **entries}, "pipelines/ci.azure-pipelines.yml")
        (build,) = [job for job in ci["jobs"] if job["job"] == "BuildAndTest"]
        runs = [step["bash"] for step in build["steps"] if "docker build --target" in step.get("bash", "")]
        assert ['"test-results"' in runs[0], '"integration-test-results"' in runs[1]] == [True, True]
        assert not [step for step in build["steps"] if step.get("task") == "UsePythonVersion@0"]


@pytest.mark.validators
def test_the_pipelines_validate_and_link(sources: Capture) -> None:
    pipeline_files = {
        f"{name}/{path}": commit.inputs["content"]
        for name in ("ledger", "inventory", "pipeline-templates")
        for path, commit in files(sources, name).items()
        if path.endswith(".yml")
    }
    assert all(result.returncode == 0 for result in validators.check_jsonschema_azure_pipelines(pipeline_files))
    builtin = pipeline_links.builtin_tasks(validators.azure_pipelines_schema())
    assert [str(f) for f in pipeline_links.check(sources, builtin)] == []
