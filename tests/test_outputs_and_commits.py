"""What the stack hands operators, and the files it commits checked by external validators as committed."""

from __future__ import annotations

import pytest

from components.service_files.layout import KUBERNETES_MANIFEST_PATH
from tests import validators
from tests.helpers import CLUSTER, GIT_FILE, REGISTRY, VAULT, only
from tools.capture import SECRET, Capture
from tools.mocks import TENANT_ID


def test_operators_get_portal_links_credentials_commands_and_devops_entry_points(prod: Capture) -> None:
    outputs = prod.outputs
    links = outputs["portalLinks"]
    for key, token, named in (
        ("cluster-staging", CLUSTER, "cluster-staging"),
        ("cluster-production", CLUSTER, "cluster-production"),
        ("registry-nonprod", REGISTRY, "registry-nonprod-"),
        ("registry-prod", REGISTRY, "registry-prod-"),
        ("keyVault", VAULT, None),
    ):
        resource_id = only(prod, token, named=named).id
        assert links[key] == f"https://portal.azure.com/#@{TENANT_ID}/resource{resource_id}/overview"
    assert outputs["getCredentialsCommands"]["production"] == (
        "az aks get-credentials --resource-group rg-contoso-prod --name aks-contoso-prod-production --format azure"
    )
    assert outputs["appInsightsConnectionString"] == SECRET
    assert set(outputs["repositoryUrls"]) == set(outputs["pipelineIds"]) == {"orders"}
    assert set(outputs["pipelineIds"]["orders"]) == {"pr", "ci", "cd"}
    assert outputs["devopsProjectUrl"].startswith("https://dev.azure.com/")


@pytest.fixture(scope="module")
def committed(prod: Capture) -> dict[str, str]:
    """Every pipeline and manifest file exactly as the stack commits it, keyed by repository and path."""
    files = {}
    for commit in prod.of_type(GIT_FILE):
        path = commit.inputs["file"]
        if path.startswith("pipelines/") or path.startswith(f"{KUBERNETES_MANIFEST_PATH}/"):
            files[f"{commit.name}/{path}"] = commit.inputs["content"]
    return files


@pytest.mark.validators
def test_committed_pipelines_are_schema_valid_and_checkov_clean(committed: dict[str, str]) -> None:
    pipelines = {path: content for path, content in committed.items() if path.endswith(".yml")}
    assert sum(path.endswith("azure-pipelines.yml") for path in pipelines) == 3
    validators.check_jsonschema_azure_pipelines(pipelines)
    validators.checkov_azure_pipelines(pipelines)


@pytest.mark.validators
def test_committed_manifests_pass_checkov_and_kubernetes_validate(prod: Capture, committed: dict[str, str]) -> None:
    manifests = {path: content for path, content in committed.items() if path.endswith(".yaml")}
    assert len(manifests) == 2
    validators.checkov_kubernetes(manifests)
    # At the version the clusters run (a minor version; its first patch release carries the same API).
    versions = {f"{cluster.inputs['kubernetesVersion']}.0" for cluster in prod.of_type(CLUSTER)}
    validators.kubernetes_validate(manifests, sorted(versions))
