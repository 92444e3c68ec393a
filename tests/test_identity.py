from __future__ import annotations

import uuid

from components.identity import BUILT_IN_ROLES, role_assignment_name
from tests.helpers import ROLE_ASSIGNMENT, cluster, only, registry, role_assignments, role_id
from tools.capture import Capture
from tools.mocks import SUBSCRIPTION_ID

FORBIDDEN_ROLES = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}


def _kubelet_object_id(capture: Capture, stage: str) -> str:
    return str(cluster(capture, stage).outputs["identityProfile"]["kubeletidentity"]["objectId"])


def _grants_to(capture: Capture, principal_id: str) -> list[tuple[str, str]]:
    return sorted(
        (assignment["roleDefinitionId"].rsplit("/", 1)[-1], assignment["scope"])
        for assignment in role_assignments(capture)
        if assignment["principalId"] == principal_id
    )


def test_each_kubelet_pulls_from_its_own_registry_only(estate: Capture) -> None:
    acr_pull = BUILT_IN_ROLES["AcrPull"]
    assert _grants_to(estate, _kubelet_object_id(estate, "staging")) == [(acr_pull, registry(estate, "nonprod").id)]
    assert _grants_to(estate, _kubelet_object_id(estate, "production")) == [(acr_pull, registry(estate, "prod").id)]


def test_pipelines_identity_has_exactly_the_roles_ci_and_staging_use(estate: Capture) -> None:
    # Every step that runs a service's own code (tests, container builds) signs in as this identity: nothing of
    # production.
    principal = only(estate, "azure-native:managedidentity:UserAssignedIdentity", named="pipelines").outputs[
        "principalId"
    ]
    insights = only(estate, "azure-native:applicationinsights:Component")
    secrets = estate.of_type("azure-native:keyvault:Secret")
    assert secrets, "CI reads at least the Application Insights connection string"
    staging = cluster(estate, "staging")
    expected = [
        (BUILT_IN_ROLES["AcrPush"], registry(estate, "nonprod").id),
        # Each secret CI reads, never the vault: a vault-wide reader reads the ingress certificates' private keys.
        *[(BUILT_IN_ROLES["Key Vault Secrets User"], secret.id) for secret in secrets],
        # CI's integration tests send telemetry, which Application Insights accepts from Entra ID only in prod.
        (BUILT_IN_ROLES["Monitoring Metrics Publisher"], insights.id),
        (BUILT_IN_ROLES["Azure Kubernetes Service Cluster User Role"], staging.id),
        (BUILT_IN_ROLES["Azure Kubernetes Service RBAC Writer"], f"{staging.id}/namespaces/orders"),
    ]
    assert _grants_to(estate, principal) == sorted(expected)


def test_release_identity_has_exactly_the_roles_promotion_and_production_use(estate: Capture) -> None:
    principal = only(estate, "azure-native:managedidentity:UserAssignedIdentity", named="release").outputs[
        "principalId"
    ]
    production = cluster(estate, "production")
    importer = BUILT_IN_ROLES["Container Registry Data Importer and Data Reader"]
    expected = [
        # `az acr import` reads its source through Entra ID as the importing identity.
        (importer, registry(estate, "nonprod").id),
        (importer, registry(estate, "prod").id),
        (BUILT_IN_ROLES["Azure Kubernetes Service Cluster User Role"], production.id),
        (BUILT_IN_ROLES["Azure Kubernetes Service RBAC Writer"], f"{production.id}/namespaces/orders"),
    ]
    assert _grants_to(estate, principal) == sorted(expected)


def test_no_broad_role_is_granted_anywhere(estate: Capture) -> None:
    granted = {assignment["roleDefinitionId"].rsplit("/", 1)[-1] for assignment in role_assignments(estate)}
    assert granted <= set(BUILT_IN_ROLES.values())
    assert not granted & set(FORBIDDEN_ROLES.values())
    for assignment in role_assignments(estate):
        assert assignment["principalType"] == "ServicePrincipal"
        assert assignment["roleDefinitionId"].endswith(tuple(role_id(guid) for guid in BUILT_IN_ROLES.values()))
        assert "/resourceGroups/" in assignment["scope"], "every grant is scoped below a resource group"
        assert assignment["scope"].count("/providers/") == 1, "every grant is scoped to one resource"


def test_role_assignment_names_are_deterministic_guids_unique_per_stack(dev: Capture, prod: Capture) -> None:
    dev_names = [a.inputs["roleAssignmentName"] for a in dev.of_type(ROLE_ASSIGNMENT)]
    prod_names = [a.inputs["roleAssignmentName"] for a in prod.of_type(ROLE_ASSIGNMENT)]
    for name in dev_names + prod_names:
        assert uuid.UUID(name).version == 5
    assert len(set(dev_names)) == len(dev_names)
    assert not set(dev_names) & set(prod_names)
    assert role_assignment_name(SUBSCRIPTION_ID, "contoso/dev", "pipelines-push-nonprod") in dev_names
    assert role_assignment_name("another-subscription", "contoso/dev", "pipelines-push-nonprod") not in dev_names


def test_assignments_are_deleted_before_they_are_replaced(estate: Capture) -> None:
    # Their deterministic names cannot exist twice, so a replacement (new principal or scope) must delete first.
    assert all(assignment.delete_before_replace for assignment in estate.of_type(ROLE_ASSIGNMENT))
