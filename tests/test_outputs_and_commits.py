"""What the stack hands operators, and the files it commits checked by external validators as committed."""

from __future__ import annotations

import pytest
import yaml

from tests import validators
from tests.helpers import CLUSTER, GIT_FILE, REGISTRY, VAULT, only, service_manifests
from tools.capture import SECRET, Capture
from tools.mocks import TENANT_ID
from tools.pipeline_links import expand


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


def committed_pipelines(prod: Capture) -> dict[str, str]:
    """Every pipeline file exactly as the stack commits it, keyed by resource and path."""
    return {
        f"{commit.name}/{commit.inputs['file']}": commit.inputs["content"]
        for commit in prod.of_type(GIT_FILE)
        if commit.inputs["file"].endswith(".yml")
    }


def compiled_pipelines(prod: Capture) -> dict[str, str]:
    """The service's three runs compiled: checkov reads each file alone, so the steps are checked with the entry's
    values in them."""
    files = {commit.inputs["file"]: commit.inputs["content"] for commit in prod.of_type(GIT_FILE)}
    return {
        f"orders/{kind}.yml": yaml.safe_dump(expand(files, f"pipelines/{kind}.azure-pipelines.yml"), sort_keys=False)
        for kind in ("pr", "ci", "cd")
    }


def rendered_manifests(prod: Capture) -> dict[str, str]:
    """Rendered as CI renders them: the templates repository's renderer with the committed CI entry's parameters."""
    return {
        f"orders/{stage}.yaml": yaml.safe_dump_all(service_manifests(prod, "orders", stage), sort_keys=False)
        for stage in ("staging", "production")
    }


def checkov_trees(prod: Capture) -> dict[str, validators.CheckovTree]:
    """What checkov reads for this module (tests/conftest.py `checkov`)."""
    return {
        "committed": validators.pipelines_tree(committed_pipelines(prod)),
        "compiled": validators.pipelines_tree(compiled_pipelines(prod)),
        "manifests": validators.kubernetes_tree(rendered_manifests(prod)),
    }


@pytest.fixture(scope="module")
def committed(prod: Capture) -> dict[str, str]:
    return committed_pipelines(prod)


@pytest.fixture(scope="module")
def manifests(prod: Capture) -> dict[str, str]:
    return rendered_manifests(prod)


@pytest.fixture(scope="module")
def checkov_results(checkov: dict[str, dict[str, validators.ValidatorResult]]) -> dict[str, validators.ValidatorResult]:
    return checkov["test_outputs_and_commits"]


@pytest.mark.validators
def test_committed_pipelines_are_schema_valid_and_checkov_clean(
    committed: dict[str, str], checkov_results: dict[str, validators.ValidatorResult]
) -> None:
    # The service's three entry pipelines, the templates (six stage templates, their steps) and its validation.
    assert sum(path.endswith("azure-pipelines.yml") for path in committed) == 4
    validators.check_jsonschema_azure_pipelines(committed)
    validators.clean(checkov_results["committed"])


@pytest.mark.validators
def test_the_compiled_service_pipelines_pass_checkov(checkov_results: dict[str, validators.ValidatorResult]) -> None:
    validators.clean(checkov_results["compiled"])


@pytest.mark.validators
def test_rendered_manifests_pass_checkov_and_kubernetes_validate(
    prod: Capture, manifests: dict[str, str], checkov_results: dict[str, validators.ValidatorResult]
) -> None:
    validators.clean(checkov_results["manifests"])
    # At the version the clusters run (a minor version; its first patch release carries the same API).
    versions = {f"{cluster.inputs['kubernetesVersion']}.0" for cluster in prod.of_type(CLUSTER)}
    validators.kubernetes_validate(manifests, sorted(versions))
