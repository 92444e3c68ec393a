"""The policy pack over the bootstrap's inventory: it passes, each bootstrap rule fails a planted mistake, and the
estate rules the bootstrap is exempt from still bite on the estate's own resources."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from policy import offline
from policy.rules import POLICIES, bootstrap
from tests.test_bootstrap import run_bootstrap
from tools.capture import Capture, Registration

Edit = Callable[[dict[str, Any]], None]
RBAC_ADMIN = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
UAA = "18d7d88d-d35e-4fb5-a5c3-7773c4a72d9d"
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


@pytest.fixture(scope="module")
def boot() -> Capture:
    return run_bootstrap()


def _role(guid: str) -> Edit:
    def edit(inputs: dict[str, Any]) -> None:
        inputs["roleDefinitionId"] = inputs["roleDefinitionId"].rsplit("/", 1)[0] + "/" + guid

    return edit


def _set(key: str, value: Any) -> Edit:
    def edit(inputs: dict[str, Any]) -> None:
        node = inputs
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(inputs: dict[str, Any]) -> None:
        for each in edits:
            each(inputs)

    return edit


class Break(NamedTuple):
    rule: str
    token: str
    # The end of the logical name of the resource to break.
    suffix: str
    edit: Edit
    why: str


BREAKS = [
    Break(*case)
    for case in [
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            _set("allowSharedKeyAccess", True),
            "keys",
        ),
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            _set("allowSharedKeyAccess", None),
            "default",
        ),
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            _set("allowBlobPublicAccess", True),
            "public",
        ),
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            _set("minimumTlsVersion", "TLS1_0"),
            "tls",
        ),
        (
            "storage-entra-only-private-tls12",
            bootstrap.STORAGE_ACCOUNT,
            "account",
            _set("enableHttpsTrafficOnly", False),
            "http",
        ),
        (
            "storage-blob-versioning-and-soft-delete",
            bootstrap.BLOB_SERVICE,
            "blob-service",
            _set("isVersioningEnabled", False),
            "versions",
        ),
        (
            "storage-blob-versioning-and-soft-delete",
            bootstrap.BLOB_SERVICE,
            "blob-service",
            _set("deleteRetentionPolicy.enabled", False),
            "blob soft delete",
        ),
        (
            "storage-blob-versioning-and-soft-delete",
            bootstrap.BLOB_SERVICE,
            "blob-service",
            _set("containerDeleteRetentionPolicy", None),
            "container soft delete",
        ),
        (
            "role-assignment-no-owner",
            bootstrap.ROLE_ASSIGNMENT,
            "deploy-prod-contribute",
            _role(bootstrap.OWNER),
            "owner",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            bootstrap.ROLE_ASSIGNMENT,
            "deploy-prod-assign-estate-roles",
            _set("condition", None),
            "unconditioned rbac administrator",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            bootstrap.ROLE_ASSIGNMENT,
            "deploy-prod-assign-estate-roles",
            _set("conditionVersion", "1.0"),
            "wrong condition version",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            bootstrap.ROLE_ASSIGNMENT,
            "deploy-prod-contribute",
            _role(UAA),
            "unconstrained user access administrator",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            bootstrap.ROLE_ASSIGNMENT,
            "deploy-dev-assign-estate-roles",
            lambda inputs: inputs.update(condition=inputs["condition"].replace(ESTATE_ROLE, bootstrap.OWNER, 1)),
            "owner may be assigned",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            bootstrap.ROLE_ASSIGNMENT,
            "deploy-dev-assign-estate-roles",
            lambda inputs: inputs.update(condition=inputs["condition"].split(" AND ((")[0]),
            "delete unconstrained",
        ),
        (
            "role-assignment-role-assigning-conditioned",
            bootstrap.ROLE_ASSIGNMENT,
            "deploy-dev-assign-estate-roles",
            lambda inputs: inputs.update(condition=f"({inputs['condition']}) OR ({WIDENING})"),
            "widened by an OR",
        ),
        (
            "iac-environment-checks",
            "azuredevops:index/checkApproval:CheckApproval",
            "aks-estate-iac-prod-preview-approval",
            _set("approvers", []),
            "no prod-preview approver",
        ),
        (
            "iac-environment-checks",
            "azuredevops:index/checkBranchControl:CheckBranchControl",
            "aks-estate-iac-dev-branch-control",
            _set("allowedBranches", "*"),
            "any branch deploys dev",
        ),
        (
            "iac-environment-checks",
            "azuredevops:index/environment:Environment",
            "aks-estate-iac-prod-environment",
            _set("name", "aks-estate-iac-live"),
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
    resources = [broken if r.urn == target.urn else r for r in boot.resources]
    fired = [v for v in offline.evaluate(POLICIES, resources) if v.policy == rule]
    assert fired, f"{rule} let {why} through"


def _as_estate(registration: Registration) -> Registration:
    urn = registration.urn.replace(f"::{bootstrap.BOOTSTRAP_PROJECT}::", "::aks-estate::")
    return dataclasses.replace(registration, urn=urn)


def test_exempt_estate_rules_still_bite_outside_the_bootstrap(boot: Capture) -> None:
    contributor = next(r for r in boot.of_type(bootstrap.ROLE_ASSIGNMENT) if r.name.endswith("deploy-prod-contribute"))
    assert offline.evaluate(POLICIES, [contributor]) == []
    fired = {v.policy for v in offline.evaluate(POLICIES, [_as_estate(contributor)])}
    assert {"role-assignment-no-privileged-roles", "role-assignment-resource-scope"} <= fired
    vault = next(r for r in boot.of_type("azure-native:keyvault:Vault"))
    assert "diagnostics-on-monitored-resources" in {v.policy for v in offline.evaluate(POLICIES, [_as_estate(vault)])}


def test_the_documented_multi_line_condition_is_accepted(boot: Capture) -> None:
    target = next(r for r in boot.of_type(bootstrap.ROLE_ASSIGNMENT) if r.name.endswith("assign-estate-roles"))
    documented = dataclasses.replace(target, inputs={**target.inputs, "condition": PORTAL_FORM})
    assert offline.evaluate(POLICIES, [documented]) == []


def test_project_of_reads_the_urn() -> None:
    assert bootstrap.project_of("urn:pulumi:main::aks-estate-bootstrap::a:b:C::n") == "aks-estate-bootstrap"
    assert bootstrap.project_of("not-a-urn") == ""
