"""The policy pack over the bootstrap's inventory: it passes, each bootstrap rule fails a planted mistake, and the
estate rules the bootstrap is exempt from still bite on the estate's own resources."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, NamedTuple

import pytest

from policy import offline
from policy.rules import POLICIES, bootstrap, identity
from tests.helpers import Mutation, drop, put, replaced
from tools.capture import Capture, Registration

UAA = identity.USER_ACCESS_ADMINISTRATOR
# Key Vault Secrets User, one of the roles the estate assigns (components/identity.py).
ESTATE_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"
WIDENING = f"@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{UAA}}}"
# The "Constrain roles" example as the portal's condition editor shows it (delegate-role-assignments-examples).
PORTAL_FORM = """(
 (
  !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})
 )
 OR
 (
  @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {BACKUP_ROLES}
 )
)
AND
(
 (
  !(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})
 )
 OR
 (
  @Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {BACKUP_ROLES}
 )
)""".replace("BACKUP_ROLES", "5e467623-bb1f-42f4-a55d-6e525e11384b, a795c7a0-d4a2-40c1-ae25-d81f01202912")


def _role(guid: str) -> Mutation:
    def edit(inputs: dict[str, Any]) -> None:
        inputs["roleDefinitionId"] = inputs["roleDefinitionId"].rsplit("/", 1)[0] + "/" + guid

    return edit


class Break(NamedTuple):
    rule: str
    token: str
    # The end of the logical name of the resource to break.
    suffix: str
    edit: Mutation
    why: str


BREAKS = [
    Break(*case)
    for case in [
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            put("allowSharedKeyAccess", True),
            "keys",
        ),
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            drop("allowSharedKeyAccess"),
            "default",
        ),
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            put("allowBlobPublicAccess", True),
            "public",
        ),
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            put("minimumTlsVersion", "TLS1_0"),
            "tls",
        ),
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            put("enableHttpsTrafficOnly", False),
            "http",
        ),
        (
            "storage-blob-versioning-and-soft-delete",
            bootstrap.BLOB_SERVICE,
            "blob-service",
            put("isVersioningEnabled", False),
            "versions",
        ),
        (
            "storage-blob-versioning-and-soft-delete",
            bootstrap.BLOB_SERVICE,
            "blob-service",
            put("deleteRetentionPolicy.enabled", False),
            "blob soft delete",
        ),
        (
            "storage-blob-versioning-and-soft-delete",
            bootstrap.BLOB_SERVICE,
            "blob-service",
            drop("containerDeleteRetentionPolicy"),
            "container soft delete",
        ),
        (
            "storage-previous-versions-expire",
            bootstrap.MANAGEMENT_POLICY,
            "lifecycle",
            drop("policy.rules.0.definition.actions.version"),
            "no version action",
        ),
        (
            "storage-previous-versions-expire",
            bootstrap.MANAGEMENT_POLICY,
            "lifecycle",
            put("policy.rules.0.definition.actions.version.delete.daysAfterCreationGreaterThan", 365),
            "versions kept beyond the soft-delete days",
        ),
        (
            "storage-previous-versions-expire",
            bootstrap.MANAGEMENT_POLICY,
            "lifecycle",
            put("policy.rules.0.enabled", False),
            "rule disabled",
        ),
        (
            "storage-previous-versions-expire",
            bootstrap.MANAGEMENT_POLICY,
            "lifecycle",
            put("policy.rules.0.definition.filters.prefixMatch", ["state-dev/"]),
            "one container only",
        ),
        (
            "role-assignment-no-owner",
            identity.ROLE_ASSIGNMENT,
            "deploy-prod-contribute",
            _role(identity.OWNER),
            "owner",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            identity.ROLE_ASSIGNMENT,
            "deploy-prod-assign-estate-roles",
            drop("condition"),
            "unconditioned rbac administrator",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            identity.ROLE_ASSIGNMENT,
            "deploy-prod-assign-estate-roles",
            put("conditionVersion", "1.0"),
            "wrong condition version",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            identity.ROLE_ASSIGNMENT,
            "deploy-prod-contribute",
            _role(UAA),
            "unconstrained user access administrator",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            identity.ROLE_ASSIGNMENT,
            "deploy-dev-assign-estate-roles",
            lambda inputs: inputs.update(condition=inputs["condition"].replace(ESTATE_ROLE, identity.OWNER, 1)),
            "owner may be assigned",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            identity.ROLE_ASSIGNMENT,
            "deploy-dev-assign-estate-roles",
            lambda inputs: inputs.update(condition=inputs["condition"].split(" AND ((")[0]),
            "delete unconstrained",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            identity.ROLE_ASSIGNMENT,
            "deploy-dev-assign-estate-roles",
            lambda inputs: inputs.update(condition=f"({inputs['condition']}) OR ({WIDENING})"),
            "widened by an OR",
        ),
        (
            "iac-environment-checks",
            "azuredevops:index/checkApproval:CheckApproval",
            "aks-estate-iac-prod-approval",
            put("approvers", []),
            "no prod approver",
        ),
        (
            "iac-connection-checks",
            "azuredevops:index/checkApproval:CheckApproval",
            "aks-estate-iac-preview-prod-approval",
            put("approvers", []),
            "no prod-preview approver",
        ),
        (
            "iac-connection-checks",
            "azuredevops:index/checkBranchControl:CheckBranchControl",
            "aks-estate-iac-deploy-prod-branch-control",
            put("targetResourceType", "environment"),
            "deploy-prod's branch control aimed at an environment",
        ),
        (
            "iac-environment-checks",
            "azuredevops:index/checkBranchControl:CheckBranchControl",
            "aks-estate-iac-dev-branch-control",
            put("allowedBranches", "*"),
            "any branch deploys dev",
        ),
        (
            "iac-environment-checks",
            "azuredevops:index/environment:Environment",
            "aks-estate-iac-prod-environment",
            put("name", "aks-estate-iac-live"),
            "prod environment missing",
        ),
    ]
]
BROKEN_RULES = {case.rule for case in BREAKS}


def test_the_whole_pack_passes_the_bootstrap(boot: Capture) -> None:
    assert offline.evaluate(POLICIES, boot.resources) == []


def test_every_bootstrap_rule_has_a_planted_mistake() -> None:
    assert {policy.name for policy in bootstrap.POLICIES} == BROKEN_RULES


@pytest.mark.parametrize("case", BREAKS, ids=[f"{case.rule}[{case.why}]" for case in BREAKS])
def test_a_planted_mistake_fails_its_rule(boot: Capture, case: Break) -> None:
    rule, token, suffix, edit, why = case
    (target,) = [r for r in boot.of_type(token) if r.name.endswith(suffix)]
    changed = copy.deepcopy(target.inputs)
    edit(changed)
    # Outputs echo inputs under the mocks and stack rules read both: a removed input leaves the outputs too.
    outputs = {key: value for key, value in target.outputs.items() if key in changed or key not in target.inputs}
    broken = dataclasses.replace(target, inputs=changed, outputs={**outputs, **changed})
    resources = replaced(boot.resources, broken)
    fired = [v for v in offline.evaluate(POLICIES, resources) if v.policy == rule]
    assert fired, f"{rule} let {why} through"


def _as_estate(registration: Registration) -> Registration:
    urn = registration.urn.replace(f"::{bootstrap.BOOTSTRAP_PROJECT}::", "::aks-estate::")
    return dataclasses.replace(registration, urn=urn)


def test_exempt_estate_rules_still_bite_outside_the_bootstrap(boot: Capture) -> None:
    contributor = next(r for r in boot.of_type(identity.ROLE_ASSIGNMENT) if r.name.endswith("deploy-prod-contribute"))
    assert offline.evaluate(POLICIES, [contributor]) == []
    fired = {v.policy for v in offline.evaluate(POLICIES, [_as_estate(contributor)])}
    assert {"role-assignment-no-privileged-roles", "role-assignment-resource-scope"} <= fired
    vault = next(r for r in boot.of_type("azure-native:keyvault:Vault"))
    assert "diagnostics-on-monitored-resources" in {v.policy for v in offline.evaluate(POLICIES, [_as_estate(vault)])}


def test_the_documented_multi_line_condition_is_accepted(boot: Capture) -> None:
    target = next(r for r in boot.of_type(identity.ROLE_ASSIGNMENT) if r.name.endswith("assign-estate-roles"))
    documented = dataclasses.replace(target, inputs={**target.inputs, "condition": PORTAL_FORM})
    assert offline.evaluate(POLICIES, [documented]) == []


def test_project_of_reads_the_urn() -> None:
    assert bootstrap.project_of("urn:pulumi:main::aks-estate-bootstrap::a:b:C::n") == "aks-estate-bootstrap"
    assert bootstrap.project_of("not-a-urn") == ""
