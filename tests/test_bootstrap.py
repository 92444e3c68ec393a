"""The bootstrap program (bootstrap/): every object of the IaC contract, with the stated properties and links.

One capture of bootstrap/Pulumi.main.yaml per session; the links are followed through the mock provider's outputs
(a PipelineAuthorization's pipelineId is the definition's ID, a federated credential's subject is its connection's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bootstrap import config as bootstrap_config
from bootstrap import names
from bootstrap.access import IAC_ROLES, IacGrant, assignable_roles_condition
from bootstrap.config import BootstrapConfig
from components.config import ConfigError
from components.devops_pool import PoolNames
from components.identity import BUILT_IN_ROLES, estate_assignable_role_ids
from tests import validators
from tests.helpers import (
    AZURE_RM_CONNECTION,
    BUILD_DEFINITION,
    ENVIRONMENT,
    FEDERATED_CREDENTIAL,
    IDENTITY,
    PIPELINE_AUTHORIZATION,
    ROLE_ASSIGNMENT,
    VARIABLE_GROUP,
)
from tools import capture, devops_index, offline_preview, pipeline_links
from tools.capture import ROOT, Capture, Registration
from tools.mocks import SUBSCRIPTION_ID

BOOTSTRAP = ROOT / "bootstrap"
STACK_FILE = BOOTSTRAP / "Pulumi.main.yaml"
SCHEMA = ROOT / "tests" / "reference" / "pulumi-project.schema.json"
STACKS = ("dev", "prod")
SUBSCRIPTION = f"/subscriptions/{SUBSCRIPTION_ID}"
CONTAINER = "azure-native:storage:BlobContainer"


def _one(result: Capture, token: str, **inputs: Any) -> Registration:
    matches = [r for r in result.of_type(token) if all(r.inputs.get(k) == v for k, v in inputs.items())]
    assert len(matches) == 1, f"{token} {inputs}: {[r.name for r in matches]}"
    return matches[0]


# --- the project file and the config ---------------------------------------------------------------------------------


def _declared() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((BOOTSTRAP / "Pulumi.yaml").read_text())
    return {key.removeprefix(f"{bootstrap_config.NAMESPACE}:"): value for key, value in document["config"].items()}


def test_pulumi_yaml_obeys_pulumis_project_schema_and_names_the_namespace() -> None:
    document = yaml.safe_load((BOOTSTRAP / "Pulumi.yaml").read_text())
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["name"] == bootstrap_config.NAMESPACE == offline_preview.PROGRAMS["bootstrap"].project
    assert all(key.startswith(f"{bootstrap_config.NAMESPACE}:") for key in document["config"])


def test_declared_keys_and_defaults_are_the_config_models() -> None:
    fields = {field.alias: field for field in BootstrapConfig.model_fields.values()}
    for key, declaration in _declared().items():
        assert key in fields, key
        if "default" in declaration:
            assert fields[key].default == declaration["default"], key
        else:
            assert fields[key].is_required(), key


def test_every_stack_file_sets_the_keys_the_cli_requires() -> None:
    required = {key for key, declaration in _declared().items() if "default" not in declaration}
    for stack_file in sorted(BOOTSTRAP.glob("Pulumi.*.yaml")):
        if stack_file.name == "Pulumi.yaml":
            continue
        keys = {
            key.removeprefix(f"{bootstrap_config.NAMESPACE}:")
            for key in yaml.safe_load(stack_file.read_text())["config"]
        }
        assert required <= keys, f"{stack_file.name} lacks {sorted(required - keys)}"


VALID = {
    "namePrefix": "myorg",
    "location": "westeurope",
    "approvers": '["a@example.com"]',
    "operators": '["5b2e8c1a-3f47-4d9e-a6b0-7c1d2e3f4a5b"]',
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"namePrefix": None}, "aks-estate-bootstrap:namePrefix = (missing): is required"),
        ({"namePrefix": "My-Org"}, 'aks-estate-bootstrap:namePrefix = "My-Org": must be 2-10 lowercase letters'),
        ({"approvers": "[]"}, "aks-estate-bootstrap:approvers = []: needs at least 1 item(s)"),
        ({"approvers": '["a@example.com", "A@example.com"]'}, "aks-estate-bootstrap:approvers = "),
        ({"approvers": '["not-an-address"]'}, 'aks-estate-bootstrap:approvers.0 = "not-an-address"'),
        ({"minimumReviewers": "0"}, 'aks-estate-bootstrap:minimumReviewers = "0": Input should be greater than'),
        ({"stateSoftDeleteDays": "400"}, "aks-estate-bootstrap:stateSoftDeleteDays"),
        ({"passphrase": "x"}, 'aks-estate-bootstrap:passphrase = "x": is not a setting the bootstrap knows'),
        ({"operators": None}, "aks-estate-bootstrap:operators = (missing): is required"),
        ({"operators": "[]"}, "aks-estate-bootstrap:operators = []: needs at least 1 item(s)"),
        ({"operators": '["someone@example.com"]'}, 'aks-estate-bootstrap:operators.0 = "someone@example.com": '),
        (
            {"operators": '["5b2e8c1a-3f47-4d9e-a6b0-7c1d2e3f4a5b", "5B2E8C1A-3F47-4D9E-A6B0-7C1D2E3F4A5B"]'},
            "aks-estate-bootstrap:operators = [",
        ),
    ],
)
def test_bad_config_is_one_clear_message(change: dict[str, str | None], message: str) -> None:
    raw = {key: value for key, value in {**VALID, **change}.items() if value is not None}
    with pytest.raises(ConfigError) as error:
        bootstrap_config.parse(raw)
    assert message in str(error.value)


def test_repeated_approvers_name_the_rule() -> None:
    with pytest.raises(ConfigError, match="must not repeat an approver"):
        bootstrap_config.parse({**VALID, "approvers": '["a@example.com", "A@example.com"]'})


def test_repeated_operators_name_the_rule() -> None:
    operator = "5b2e8c1a-3f47-4d9e-a6b0-7c1d2e3f4a5b"
    with pytest.raises(ConfigError, match="must not repeat an operator"):
        bootstrap_config.parse({**VALID, "operators": f'["{operator}", "{operator.upper()}"]'})


def test_valid_config_takes_the_defaults() -> None:
    parsed = bootstrap_config.parse(VALID)
    assert (parsed.devops_project, parsed.repository_name, parsed.minimum_reviewers) == (
        "aks-estate-iac",
        "aks-estate",
        2,
    )


# --- the state backend and the secrets keys --------------------------------------------------------------------------


def test_previous_state_versions_expire_after_the_soft_delete_days(boot: Capture) -> None:
    # storage-previous-versions-expire (tests/test_bootstrap_policy.py breaks it) holds the rule's shape; this holds
    # the number to the stack's own key.
    (account,) = boot.of_type("azure-native:storage:StorageAccount")
    (lifecycle,) = boot.of_type("azure-native:storage:ManagementPolicy")
    (rule,) = lifecycle.inputs["policy"]["rules"]
    config, _ = capture.load_stack_config(STACK_FILE)
    prefix = f"{bootstrap_config.NAMESPACE}:"
    days = bootstrap_config.parse(
        {key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)}
    ).state_soft_delete_days
    assert rule["definition"]["actions"] == {"version": {"delete": {"daysAfterCreationGreaterThan": days}}}
    assert account.urn in lifecycle.dependencies
    assert lifecycle.inputs["managementPolicyName"] == "default"


def test_state_account_is_protected(boot: Capture) -> None:
    # Entra-only access, TLS 1.2, versioning and soft delete are policy rules (storage-entra-only-private-tls12,
    # storage-blob-versioning-and-soft-delete), which tests/test_bootstrap_policy.py breaks one by one.
    (account,) = boot.of_type("azure-native:storage:StorageAccount")
    assert account.protect


def test_one_protected_private_container_per_stack(boot: Capture) -> None:
    containers = boot.of_type("azure-native:storage:BlobContainer")
    assert sorted(c.inputs["containerName"] for c in containers) == ["state-dev", "state-prod"]
    assert all(c.protect and c.inputs["publicAccess"] == "None" for c in containers)


def test_rbac_vault_with_purge_protection_and_one_rsa_key_per_stack(boot: Capture) -> None:
    (vault,) = boot.of_type("azure-native:keyvault:Vault")
    # keyvault-purge-protection holds prod only, and the bootstrap has no environment: this test holds it.
    assert vault.inputs["properties"]["enablePurgeProtection"] is True
    assert vault.protect
    keys = boot.of_type("azure-native:keyvault:Key")
    assert sorted(k.inputs["keyName"] for k in keys) == ["pulumi-dev", "pulumi-prod"]
    assert all(k.protect and k.inputs["properties"]["kty"] == "RSA" for k in keys)


def rotating_keys(result: Capture) -> list[str]:
    """Secrets keys given a rotation policy. Pulumi's azurekeyvault:// URL names no version, and go-cloud's keeper then
    uses the key's current one (google/go-cloud secrets/azurekeyvault/akv.go, openKeeper), so a rotation makes the
    stack's data key undecryptable: a key rotates only by the README's procedure, never by itself."""
    return sorted(
        str(k.inputs["keyName"])
        for k in result.of_type("azure-native:keyvault:Key")
        if "rotationPolicy" in k.inputs.get("properties", {})
    )


def test_no_secrets_key_rotates_by_itself(boot: Capture) -> None:
    assert rotating_keys(boot) == []


def test_a_rotation_policy_on_a_secrets_key_is_reported(boot: Capture) -> None:
    key = next(k for k in boot.of_type("azure-native:keyvault:Key") if k.inputs["keyName"] == "pulumi-prod")
    policy = {"lifetimeActions": [{"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P90D"}}]}
    rotating = Registration(
        **{
            **key.__dict__,
            "inputs": {**key.inputs, "properties": {**key.inputs["properties"], "rotationPolicy": policy}},
        }
    )
    planted = Capture(boot.stack, [rotating if r is key else r for r in boot.resources], boot.outputs)
    assert rotating_keys(planted) == ["pulumi-prod"]


def test_no_passphrase_anywhere(boot: Capture) -> None:
    text = json.dumps([r.as_json() for r in boot.resources]).lower() + STACK_FILE.read_text().lower()
    assert "passphrase" not in text


def test_stateful_resources_are_protected(boot: Capture) -> None:
    for token in (
        "azure-native:resources:ResourceGroup",
        "azuredevops:index/project:Project",
        "azuredevops:index/git:Git",
    ):
        assert all(r.protect for r in boot.of_type(token)), token


# --- identities, federation, roles -----------------------------------------------------------------------------------


def _identities(boot: Capture) -> dict[str, Registration]:
    return {r.inputs["resourceName"]: r for r in boot.of_type(IDENTITY)}


def test_each_identity_federates_with_exactly_its_own_connection(boot: Capture) -> None:
    identities = _identities(boot)
    assert sorted(identities) == ["deploy-dev", "deploy-prod", "preview-dev", "preview-prod"]
    for role in names.ROLES:
        for stack in STACKS:
            identity = identities[f"{role}-{stack}"]
            connection = _one(boot, AZURE_RM_CONNECTION, serviceEndpointName=f"aks-estate-iac-{role}-{stack}")
            assert connection.inputs["credentials"]["serviceprincipalid"] == identity.outputs["clientId"]
            (credential,) = [
                f for f in boot.of_type(FEDERATED_CREDENTIAL) if f.inputs["resourceName"] == f"{role}-{stack}"
            ]
            assert credential.inputs["subject"] == connection.outputs["workloadIdentityFederationSubject"]
            assert credential.inputs["issuer"] == connection.outputs["workloadIdentityFederationIssuer"]
            assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]


def _role_name(assignment: Registration) -> str:
    guid = assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
    return next(name for name, role_id in IAC_ROLES.items() if role_id == guid)


def _operators() -> list[str]:
    return list(yaml.safe_load(STACK_FILE.read_text())["config"]["aks-estate-bootstrap:operators"])


def grants_by_identity(boot: Capture) -> dict[str, set[tuple[str, str]]]:
    """Role and scope of every assignment by grantee: an identity's name, or `operator <object ID>` for a person."""
    principals = {r.outputs["principalId"]: name for name, r in _identities(boot).items()}
    principals |= {operator: f"operator {operator}" for operator in _operators()}
    granted: dict[str, set[tuple[str, str]]] = {name: set() for name in principals.values()}
    for assignment in boot.of_type(ROLE_ASSIGNMENT):
        granted[principals[assignment.inputs["principalId"]]].add((_role_name(assignment), assignment.inputs["scope"]))
    return granted


def operator_access_errors(boot: Capture) -> list[str]:
    """How each operator's assignments differ from the data-plane roles of every stack at exactly its container and
    key (bootstrap/access.py OperatorAccess), assigned to a user."""
    expected: set[tuple[str, str]] = set()
    for stack in STACKS:
        expected.add(("Storage Blob Data Contributor", _scope_of(boot, CONTAINER, "containerName", f"state-{stack}")))
        expected.add(
            ("Key Vault Crypto User", _scope_of(boot, "azure-native:keyvault:Key", "keyName", f"pulumi-{stack}"))
        )
    errors = []
    granted = grants_by_identity(boot)
    for operator in _operators():
        got = granted[f"operator {operator}"]
        errors += [f"{operator}: missing {role} at {scope}" for role, scope in sorted(expected - got)]
        errors += [f"{operator}: unexpected {role} at {scope}" for role, scope in sorted(got - expected)]
        for assignment in boot.of_type(ROLE_ASSIGNMENT):
            if assignment.inputs["principalId"] == operator and assignment.inputs["principalType"] != "User":
                errors.append(f"{operator}: {assignment.name} is assigned to a {assignment.inputs['principalType']}")
    return errors


def test_each_operator_gets_both_data_plane_roles_of_every_stack_at_exact_scopes(boot: Capture) -> None:
    assert len(_operators()) == 1
    (operator,) = _operators()
    assert len(grants_by_identity(boot)[f"operator {operator}"]) == 2 * len(STACKS)
    assert operator_access_errors(boot) == []


def test_an_operator_role_at_the_vault_is_reported(boot: Capture) -> None:
    (vault,) = boot.of_type("azure-native:keyvault:Vault")
    key = next(
        r
        for r in boot.of_type(ROLE_ASSIGNMENT)
        if r.inputs["principalId"] in _operators() and _role_name(r) == "Key Vault Crypto User"
    )
    moved = Registration(**{**key.__dict__, "inputs": {**key.inputs, "scope": vault.id}})
    planted = Capture(boot.stack, [moved if r is key else r for r in boot.resources], boot.outputs)
    errors = operator_access_errors(planted)
    assert any(f"unexpected Key Vault Crypto User at {vault.id}" in e for e in errors), errors
    assert any(f"missing Key Vault Crypto User at {key.inputs['scope']}" in e for e in errors), errors


def _scope_of(boot: Capture, token: str, key: str, value: str) -> str:
    return str(_one(boot, token, **{key: value}).id)


def test_roles_are_the_contracts_at_the_narrowest_scope(boot: Capture) -> None:
    granted = grants_by_identity(boot)
    for stack in STACKS:
        container = _scope_of(boot, "azure-native:storage:BlobContainer", "containerName", f"state-{stack}")
        key = _scope_of(boot, "azure-native:keyvault:Key", "keyName", f"pulumi-{stack}")
        assert container.endswith(f"/containers/state-{stack}")
        assert key.endswith(f"/keys/pulumi-{stack}")
        data = {("Storage Blob Data Contributor", container), ("Key Vault Crypto User", key)}
        assert granted[f"preview-{stack}"] == {
            ("Reader", SUBSCRIPTION),
            ("Azure Kubernetes Service Cluster User Role", SUBSCRIPTION),
            *data,
        }
        assert granted[f"deploy-{stack}"] == {
            ("Contributor", SUBSCRIPTION),
            ("Role Based Access Control Administrator", SUBSCRIPTION),
            *data,
        }


# The built-in roles that read or write objects inside a cluster through Azure RBAC for Kubernetes
# (learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers).
AKS_DATA_ROLES = {
    "7f6c6a51-bcf8-42ba-9220-52d62157d7db": "Azure Kubernetes Service RBAC Reader",
    "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb": "Azure Kubernetes Service RBAC Writer",
    "3498e952-d568-435e-9b2c-8d77e338d7f7": "Azure Kubernetes Service RBAC Admin",
    "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": "Azure Kubernetes Service RBAC Cluster Admin",
}


def previewers_with_cluster_data_roles(boot: Capture) -> list[str]:
    """Each AKS data role a `preview-*` identity holds. A preview reads nothing inside a cluster: it never refreshes,
    pulumi-kubernetes diffs client-side and falls back when a server-side dry run is Forbidden (pulumi/pulumi-kubernetes
    provider/pkg/provider/provider.go, Diff; Create and Update with preview), and with dev and prod in one
    subscription any such role would open prod's clusters to the pull requests' code preview-dev runs."""
    previewers = {
        r.outputs["principalId"]: name for name, r in _identities(boot).items() if name.startswith("preview-")
    }
    found = []
    for assignment in boot.of_type(ROLE_ASSIGNMENT):
        role = AKS_DATA_ROLES.get(assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1])
        if role and assignment.inputs["principalId"] in previewers:
            found.append(f"{previewers[assignment.inputs['principalId']]}: {role} at {assignment.inputs['scope']}")
    return found


def test_no_preview_identity_holds_a_kubernetes_data_role(boot: Capture) -> None:
    assert previewers_with_cluster_data_roles(boot) == []


def test_a_preview_identity_with_a_kubernetes_data_role_is_reported(boot: Capture) -> None:
    (credentials,) = [a for a in boot.of_type(ROLE_ASSIGNMENT) if a.name.endswith("preview-dev-cluster-credentials")]
    reader = credentials.inputs["roleDefinitionId"].rsplit("/", 1)[0] + "/7f6c6a51-bcf8-42ba-9220-52d62157d7db"
    readded = Registration(
        **{
            **credentials.__dict__,
            "urn": credentials.urn.replace("cluster-credentials", "cluster-read"),
            "name": credentials.name.replace("cluster-credentials", "cluster-read"),
            "inputs": {**credentials.inputs, "roleDefinitionId": reader},
        }
    )
    planted = Capture(boot.stack, [*boot.resources, readded], boot.outputs)
    assert previewers_with_cluster_data_roles(planted) == [
        f"preview-dev: Azure Kubernetes Service RBAC Reader at {SUBSCRIPTION}"
    ]


def test_only_the_rbac_administrator_is_conditioned_and_it_names_exactly_the_estates_roles(
    boot: Capture, dev: Capture, prod: Capture
) -> None:
    estate_roles = {
        a.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        for estate in (dev, prod)
        for a in estate.of_type(ROLE_ASSIGNMENT)
    }
    # The pure function the condition is built from lists exactly the roles `Grant` admits: every role the shipped
    # stacks assign, and those a configuration may add (Key Vault Certificate User for an ingress certificate).
    assignable = set(estate_assignable_role_ids())
    assert assignable == set(BUILT_IN_ROLES.values())
    assert estate_roles <= assignable
    for assignment in boot.of_type(ROLE_ASSIGNMENT):
        if _role_name(assignment) == "Role Based Access Control Administrator":
            assert assignment.inputs["conditionVersion"] == "2.0"
            assert assignment.inputs["condition"] == assignable_roles_condition(assignable)
        else:
            assert "condition" not in assignment.inputs, assignment.name


def test_a_role_assigning_grant_must_name_its_roles_and_only_it_may() -> None:
    with pytest.raises(ValueError, match="only 'Role Based Access Control Administrator' names assignable roles"):
        IacGrant("x", "Role Based Access Control Administrator", "p", "s")
    with pytest.raises(ValueError, match="names assignable roles"):
        IacGrant("x", "Reader", "p", "s", assignable_role_ids=["acdd72a7-3385-48ef-bd42-f606fba81ae7"])
    with pytest.raises(ValueError, match="is not one the bootstrap grants"):
        IacGrant("x", "Owner", "p", "s")
    with pytest.raises(ValueError, match="at least one assignable role"):
        assignable_roles_condition([])


def test_the_iac_role_assignments_stay_under_the_bootstraps_component_type(boot: Capture) -> None:
    """IacAccess is the estate's RoleGrants under the bootstrap's own type token (its TYPE); the assignments' URNs
    carry it, so a lost override would move, that is replace, every one of them."""
    types = {registration.urn: registration.type for registration in boot.resources}
    parents = {
        types[assignment.parent or ""]
        for assignment in boot.of_type(ROLE_ASSIGNMENT)
        if assignment.inputs["principalId"] not in _operators()
    }
    assert parents == {"aks-estate:bootstrap:IacAccess"}


def test_deploy_identities_may_create_projects_and_previewers_only_read(boot: Capture) -> None:
    principals = {r.outputs["principalId"]: name for name, r in _identities(boot).items()}
    entitlements = {
        principals[e.inputs["originId"]]: e
        for e in boot.of_type("azuredevops:index/servicePrincipalEntitlement:ServicePrincipalEntitlement")
    }
    assert {name: e.inputs["accountLicenseType"] for name, e in entitlements.items()} == {
        "preview-dev": "stakeholder",
        "preview-prod": "stakeholder",
        "deploy-dev": "express",
        "deploy-prod": "express",
    }
    permissions = boot.of_type("azuredevops:index/securityPermissions:SecurityPermissions")
    descriptors = {e.outputs["descriptor"]: name for name, e in entitlements.items()}
    assert sorted(descriptors[p.inputs["principal"]] for p in permissions) == ["deploy-dev", "deploy-prod"]
    assert all(p.inputs["permissions"] == {"CREATE_PROJECTS": "Allow"} for p in permissions)


# --- Azure DevOps: names and authorizations --------------------------------------------------------------------------


def test_contract_names_are_created_exactly(boot: Capture) -> None:
    assert sorted(r.inputs["serviceEndpointName"] for r in boot.of_type(AZURE_RM_CONNECTION)) == [
        "aks-estate-iac-deploy-dev",
        "aks-estate-iac-deploy-prod",
        "aks-estate-iac-preview-dev",
        "aks-estate-iac-preview-prod",
    ]
    assert sorted(r.inputs["name"] for r in boot.of_type(ENVIRONMENT)) == [
        "aks-estate-iac-dev",
        "aks-estate-iac-prod",
        "aks-estate-iac-prod-preview",
    ]
    group = _one(boot, VARIABLE_GROUP, name="aks-estate-iac")
    variables = {v["name"]: v.get("value") for v in group.inputs["variables"]}
    (account,) = boot.of_type("azure-native:storage:StorageAccount")
    (vault,) = boot.of_type("azure-native:keyvault:Vault")
    assert variables == {
        "pulumiStateAccount": account.inputs["accountName"],
        "pulumiKeyVault": vault.inputs["vaultName"],
        # The name the prod estate gives its Managed DevOps Pool (components/devops_pool.py), under the same prefix.
        "agentPool": PoolNames(account.inputs["accountName"].removeprefix("st").removesuffix("iacstate"), "prod").pool,
    }
    assert {r.inputs["name"]: r.inputs["repository"]["ymlPath"] for r in boot.of_type(BUILD_DEFINITION)} == {
        "aks-estate-iac-pr": "pipelines/infra/pr.azure-pipelines.yml",
        "aks-estate-iac-deploy": "pipelines/infra/deploy.azure-pipelines.yml",
        "aks-estate-iac-drift": "pipelines/infra/drift.azure-pipelines.yml",
    }


def authorized(boot: Capture) -> dict[str, set[str]]:
    """Definition name -> the names of the protected resources it may use."""
    definitions = {int(r.id): r.inputs["name"] for r in boot.of_type(BUILD_DEFINITION)}
    resources = {
        r.id: r.inputs.get("serviceEndpointName") or r.inputs["name"]
        for token in (AZURE_RM_CONNECTION, ENVIRONMENT, VARIABLE_GROUP)
        for r in boot.of_type(token)
    }
    found: dict[str, set[str]] = {name: set() for name in definitions.values()}
    for authorization in boot.of_type(PIPELINE_AUTHORIZATION):
        found[definitions[int(authorization.inputs["pipelineId"])]].add(resources[authorization.inputs["resourceId"]])
    return found


def test_each_definition_may_use_exactly_what_its_yaml_uses(boot: Capture) -> None:
    assert authorized(boot) == {
        "aks-estate-iac-pr": {
            "aks-estate-iac-preview-dev",
            "aks-estate-iac-preview-prod",
            "aks-estate-iac",
            "aks-estate-iac-prod-preview",
        },
        "aks-estate-iac-deploy": {
            "aks-estate-iac-deploy-dev",
            "aks-estate-iac-deploy-prod",
            "aks-estate-iac-preview-prod",
            "aks-estate-iac",
            "aks-estate-iac-dev",
            "aks-estate-iac-prod",
        },
        "aks-estate-iac-drift": {"aks-estate-iac-deploy-dev", "aks-estate-iac-deploy-prod", "aks-estate-iac"},
    }


def _checks(boot: Capture, token: str) -> set[str]:
    """The names of the environments and connections `token`'s checks target, as `<type>:<name>`."""
    targets = {r.id: f"environment:{r.inputs['name']}" for r in boot.of_type(ENVIRONMENT)}
    targets |= {r.id: f"endpoint:{r.inputs['serviceEndpointName']}" for r in boot.of_type(AZURE_RM_CONNECTION)}
    found = set()
    for check in boot.of_type(token):
        target = targets[check.inputs["targetResourceId"]]
        # The type names what the ID is (terraform-provider-azuredevops approvalsandchecks/common_check.go).
        assert target.startswith(f"{check.inputs['targetResourceType']}:"), (check.name, target)
        found.add(target)
    return found


def test_environments_and_connections_carry_their_checks(boot: Capture) -> None:
    # Approvers who exclude the requester, and the other IaC gates (federated connections, a closed variable group,
    # blocking validation), are policy rules the whole pack holds the bootstrap to (tests/test_bootstrap_policy.py).
    assert _checks(boot, "azuredevops:index/checkApproval:CheckApproval") == {
        "environment:aks-estate-iac-prod",
        "endpoint:aks-estate-iac-preview-prod",
    }
    assert _checks(boot, "azuredevops:index/checkBranchControl:CheckBranchControl") == {
        "environment:aks-estate-iac-dev",
        "environment:aks-estate-iac-prod",
        "endpoint:aks-estate-iac-deploy-dev",
        "endpoint:aks-estate-iac-deploy-prod",
    }
    for check in boot.of_type("azuredevops:index/checkBranchControl:CheckBranchControl"):
        assert check.inputs["allowedBranches"] == "refs/heads/main"
        assert check.inputs["verifyBranchProtection"] is True


# A pull request's dev preview runs the pull request's code as preview-dev at once, by design (README, IaC pipelines):
# that identity reads only, and reaches dev's state and key alone.
UNCHECKED_BY_DESIGN = {"aks-estate-iac-preview-dev"}


def unchecked_connections(boot: Capture) -> list[str]:
    """Connections authorized for a definition (every one can run a branch's YAML: a pull request's, or any branch a
    user queues it on) that no check targets as the endpoint it is. A stage waits for the checks of every resource it
    uses (azure-devops-docs docs/pipelines/process/approvals.md), so a check on an environment does not hold a job
    that uses the connection without that environment."""
    connections = {r.id: r.inputs["serviceEndpointName"] for r in boot.of_type(AZURE_RM_CONNECTION)}
    checks = [
        c
        for token in (
            "azuredevops:index/checkApproval:CheckApproval",
            "azuredevops:index/checkBranchControl:CheckBranchControl",
        )
        for c in boot.of_type(token)
    ]
    checked = {c.inputs["targetResourceId"] for c in checks if c.inputs["targetResourceType"] == "endpoint"}
    authorized = {
        a.inputs["resourceId"] for a in boot.of_type(PIPELINE_AUTHORIZATION) if a.inputs["type"] == "endpoint"
    }
    return sorted(
        connections[endpoint] for endpoint in authorized - checked if connections[endpoint] not in UNCHECKED_BY_DESIGN
    )


def test_every_authorized_connection_but_dev_preview_carries_a_check(boot: Capture) -> None:
    assert {r.inputs["serviceEndpointName"] for r in boot.of_type(AZURE_RM_CONNECTION)} - UNCHECKED_BY_DESIGN == {
        "aks-estate-iac-preview-prod",
        "aks-estate-iac-deploy-dev",
        "aks-estate-iac-deploy-prod",
    }
    assert unchecked_connections(boot) == []


def test_a_connection_check_aimed_at_an_environment_is_reported(boot: Capture) -> None:
    (environment,) = (r for r in boot.of_type(ENVIRONMENT) if r.inputs["name"] == "aks-estate-iac-prod")
    (approval,) = (r for r in boot.of_type("azuredevops:index/checkApproval:CheckApproval") if "preview-prod" in r.name)
    moved = Registration(
        **{
            **approval.__dict__,
            "inputs": {**approval.inputs, "targetResourceId": environment.id, "targetResourceType": "environment"},
        }
    )
    planted = Capture(boot.stack, [moved if r is approval else r for r in boot.resources], boot.outputs)
    assert unchecked_connections(planted) == ["aks-estate-iac-preview-prod"]


def test_the_pr_pipeline_is_blocking_build_validation_on_main(boot: Capture) -> None:
    pr = _one(boot, BUILD_DEFINITION, name="aks-estate-iac-pr")
    (validation,) = boot.of_type("azuredevops:index/branchPolicyBuildValidation:BranchPolicyBuildValidation")
    assert int(validation.inputs["settings"]["buildDefinitionId"]) == int(pr.id)
    (repository,) = boot.of_type("azuredevops:index/git:Git")
    assert validation.inputs["settings"]["scopes"] == [
        {"matchType": "Exact", "repositoryId": repository.id, "repositoryRef": "refs/heads/main"}
    ]


# --- the offline preview ---------------------------------------------------------------------------------------------


def test_offline_preview_of_the_bootstrap_writes_the_contract(tmp_path: Path) -> None:
    assert offline_preview.main(["--program", "bootstrap", "--stack", "main", "--out", str(tmp_path)]) == 0
    assert {"resources.json", "outputs.json", "summary.md", "diagram.dot"} <= {p.name for p in tmp_path.iterdir()}
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    assert outputs["stateAccount"] == "stmyorgiacstate"
    summary = (tmp_path / "summary.md").read_text()
    assert "aks-estate:bootstrap:StateBackend" in summary
    # The admin-group step belongs to an estate stack whose clusters run the internal ingress controller.
    assert "adminGroupObjectIds" not in summary


def test_offline_preview_refuses_bad_bootstrap_config_and_writes_nothing(tmp_path: Path) -> None:
    document = yaml.safe_load(STACK_FILE.read_text())
    document["config"]["aks-estate-bootstrap:namePrefix"] = "Bad_Prefix"
    bad = tmp_path / "Pulumi.main.yaml"
    bad.write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    assert (
        offline_preview.main(
            ["--program", "bootstrap", "--stack", "main", "--config-file", str(bad), "--out", str(out)]
        )
        == 2
    )
    assert not out.exists()


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, str):
        yield value


def test_no_static_credential_in_the_inventory(boot: Capture) -> None:
    for registration in boot.of_type(AZURE_RM_CONNECTION):
        assert set(registration.inputs["credentials"]) == {"serviceprincipalid"}
    assert not any("AccountKey=" in text for r in boot.resources for text in _walk(r.inputs))


# --- the IaC pipelines against what the bootstrap creates ------------------------------------------------------------


def _iac_files() -> dict[str, str]:
    # The IaC repository holds this checkout, pushed by the operator: its pipelines are the files on disk.
    root = Path(__file__).resolve().parents[1]
    return {str(path.relative_to(root)): path.read_text() for path in (root / "pipelines" / "infra").rglob("*.yml")}


@pytest.fixture(scope="module")
def with_pool(boot: Capture) -> Capture:
    """The bootstrap's objects and, under the same prefix, the prod estate whose Managed DevOps Pool serves the IaC
    project: its queue there, and the authorizations of the IaC definitions on it, are the prod stack's."""
    config, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.prod.yaml")
    config["aks-estate:namePrefix"] = "myorg"
    prod = capture.run("prod", config, secret_keys)
    return Capture(boot.stack, [*boot.resources, *prod.resources], boot.outputs)


def test_every_name_the_iac_pipelines_use_resolves_and_is_authorized(boot: Capture, with_pool: Capture) -> None:
    builtin = pipeline_links.builtin_tasks(validators.azure_pipelines_schema())
    found = [str(f) for f in pipeline_links.check(with_pool, builtin, {"aks-estate": _iac_files()})]
    # The one known gap, pinned so that it is neither hidden nor joined by another: the IaC pipelines extend no
    # template, so the pool's queue in the IaC project carries no required-template check (README, "Agent queue
    # checks"). Closing it moves their steps into templates read at a protected ref and adds the check.
    assert found == [
        f"aks-estate:pipelines/infra/{kind}.azure-pipelines.yml: (document): pipeline 'aks-estate-iac-{kind}' uses "
        "queue 'mdp-myorg-prod', which carries no required-template check: whoever edits the pipeline's YAML runs "
        "any step on that pool"
        for kind in ("deploy", "drift", "pr")
    ]
    # Before the prod estate's first `pulumi up` there is no queue of the pool's name in the IaC project.
    alone = [str(f) for f in pipeline_links.check(boot, builtin, {"aks-estate": _iac_files()})]
    assert alone
    assert all("pool 'mdp-myorg-prod' does not exist" in finding for finding in alone), alone
    # It read them: three definitions, each through its templates.
    runs = list(pipeline_links.runs(devops_index.build_index(with_pool, {"aks-estate": _iac_files()}), builtin))
    runs = [run for run in runs if run.definition.name.startswith("aks-estate-iac-")]
    assert sorted(run.definition.name for run in runs) == [
        "aks-estate-iac-deploy",
        "aks-estate-iac-drift",
        "aks-estate-iac-pr",
    ]
    assert all({kind for kind, _ in run.used} >= {"endpoint", "variablegroup", "queue"} for run in runs)


def test_an_iac_pipeline_naming_a_connection_the_bootstrap_lacks_is_reported(with_pool: Capture) -> None:
    files = {
        path: text.replace("aks-estate-iac-deploy-prod", "aks-estate-iac-deploy-production")
        for path, text in _iac_files().items()
    }
    builtin = pipeline_links.builtin_tasks(validators.azure_pipelines_schema())
    found = [str(f) for f in pipeline_links.check(with_pool, builtin, {"aks-estate": files})]
    assert any("'aks-estate-iac-deploy-production' does not exist" in f for f in found), found


def test_only_the_prod_deployer_may_serve_the_iac_project_from_its_pool(boot: Capture) -> None:
    # Its pool creates a queue in the IaC project as that identity, and its stack authorizes the IaC definitions there.
    project = _one(boot, "azuredevops:index/project:Project")
    entitlement = "azuredevops:index/servicePrincipalEntitlement:ServicePrincipalEntitlement"
    entitlements = {r.name.rsplit("-organisation-", 1)[-1]: r for r in boot.of_type(entitlement)}
    deploy_prod = entitlements["deploy-prod"]
    (role,) = boot.of_type("azuredevops:index/securityroleAssignment:SecurityroleAssignment")
    assert role.inputs == {
        "scope": "distributedtask.globalagentqueuerole",
        "resourceId": project.id,
        "identityId": deploy_prod.id,
        "roleName": "Administrator",
    }
    memberships = boot.of_type("azuredevops:index/groupMembership:GroupMembership")
    (membership,) = (m for m in memberships if m.inputs["members"] == [deploy_prod.outputs["descriptor"]])
    assert membership.inputs["mode"] == "add"


def test_a_pool_variable_no_linked_group_sets_is_reported(with_pool: Capture) -> None:
    files = {path: text.replace("$(agentPool)", "$(agentPools)") for path, text in _iac_files().items()}
    builtin = pipeline_links.builtin_tasks(validators.azure_pipelines_schema())
    found = [str(f) for f in pipeline_links.check(with_pool, builtin, {"aks-estate": files})]
    assert any("pool variable $(agentPools) is set by 0 linked variable groups" in f for f in found), found
