"""Any language and existing code: a stack with a service built the container way and one imported from an existing
Git repository previews, and each repository holds exactly what the stack promises."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.devops.repository import starter_files
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
    assert not set(starter_files()) & set(committed)
    assert all(path.startswith(("pipelines/", "deploy/kubernetes/")) for path in committed)
    # The source may hold files of the same paths already: the stack's version replaces them.
    assert all(commit.inputs["overwriteOnCreate"] for commit in committed.values())


def test_a_starter_repository_is_created_clean_and_seeded(sources: Capture) -> None:
    assert repository(sources, "ledger").inputs["initialization"] == {"initType": "Clean"}
    assert set(starter_files()) <= set(files(sources, "ledger"))


def test_container_built_services_run_their_tests_in_the_dockerfile(sources: Capture) -> None:
    for name in ("ledger", "inventory"):
        ci: dict[str, Any] = yaml.safe_load(files(sources, name)["pipelines/ci.azure-pipelines.yml"].inputs["content"])
        steps = ci["jobs"][0]["steps"]
        assert [s.get("parameters", {}).get("target") for s in steps if "template" in s] == [
            "test-results",
            "integration-test-results",
        ]


@pytest.mark.validators
def test_the_pipelines_validate_and_link(sources: Capture) -> None:
    pipeline_files = {
        f"{name}/{path}": commit.inputs["content"]
        for name in ("ledger", "inventory")
        for path, commit in files(sources, name).items()
        if path.endswith(".yml")
    }
    assert all(result.returncode == 0 for result in validators.check_jsonschema_azure_pipelines(pipeline_files))
    builtin = pipeline_links.builtin_tasks(validators.azure_pipelines_schema())
    assert [str(f) for f in pipeline_links.check(sources, builtin)] == []
