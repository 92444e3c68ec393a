"""The IaC identities' Azure roles, each at the narrowest scope Azure accepts for it.

Role definition IDs of built-in roles are the same in every tenant (learn.microsoft.com/azure/role-based-access-control/
built-in-roles). The only role that can assign roles, Role Based Access Control Administrator, always carries a
condition naming exactly the roles it may assign and remove.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pulumi
from pulumi_azure_native import authorization

from bootstrap.component import BootstrapComponent
from components.identity import Assigner, Grant, RoleAssignmentSpec, RoleGrants, assign_role

IAC_ROLES: dict[str, str] = {
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    # A preview fetches the clusters' kubeconfig for the Kubernetes provider: listClusterUserCredential, a POST Reader
    # does not allow. No Kubernetes data role: a preview reads nothing inside a cluster (bootstrap/program.py).
    "Azure Kubernetes Service Cluster User Role": "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
}
ROLE_ASSIGNING = "Role Based Access Control Administrator"


def assignable_roles_condition(role_ids: Iterable[str]) -> str:
    """An ABAC condition letting the holder write and delete assignments of exactly `role_ids`.

    The "Constrain roles" form of learn.microsoft.com/azure/role-based-access-control/
    delegate-role-assignments-examples, narrowed to service principals as its "Constrain roles and principal types"
    example does: any action other than roleAssignments/write (delete) passes; those two pass only for the listed
    roles, assigned to service principals.
    """
    ids = sorted(set(role_ids))
    if not ids:
        raise ValueError("a role-assigning grant must name at least one assignable role")
    listed = ", ".join(ids)
    role = "Microsoft.Authorization/roleAssignments:RoleDefinitionId"
    # The estate assigns roles to service principals only (components/identity.py, RoleGrants): never to a person.
    principal = "Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase"
    return (
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        f"(@Request[{role}] ForAnyOfAnyValues:GuidEquals {{{listed}}}"
        f" AND @Request[{principal} {{'ServicePrincipal'}}))"
        " AND "
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
        f"(@Resource[{role}] ForAnyOfAnyValues:GuidEquals {{{listed}}}"
        f" AND @Resource[{principal} {{'ServicePrincipal'}}))"
    )


@dataclass(frozen=True)
class IacGrant(Grant):
    ROLES: ClassVar[Mapping[str, str]] = IAC_ROLES
    PROGRAM: ClassVar[str] = "aks-estate-bootstrap"

    # Required for (and only allowed on) the role-assigning role: the role IDs it may assign.
    assignable_role_ids: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.role not in IAC_ROLES:
            raise ValueError(f"role {self.role!r} is not one the bootstrap grants: {sorted(IAC_ROLES)}")
        if (self.role == ROLE_ASSIGNING) != bool(self.assignable_role_ids):
            raise ValueError(f"{self.purpose}: only {ROLE_ASSIGNING!r} names assignable roles, and it must")

    def condition(self) -> str | None:
        return assignable_roles_condition(self.assignable_role_ids) if self.assignable_role_ids else None


class IacAccess(RoleGrants):
    """The IaC identities' assignments (RoleGrantsArgs of IacGrants), under the bootstrap's type token."""

    TYPE = "aks-estate:bootstrap:IacAccess"


@dataclass(frozen=True)
class OperatorAccessArgs:
    assigner: Assigner
    # Entra ID object IDs of the people who run Pulumi against a stack by hand (each stack's first `pulumi up`).
    operators: Sequence[str]
    # Per stack: its state container's and its secrets key's resource IDs.
    containers: Mapping[str, pulumi.Input[str]]
    keys: Mapping[str, pulumi.Input[str]]


class OperatorAccess(BootstrapComponent):
    """The data-plane roles a person needs to run Pulumi against a stack, on that stack's container and key only.

    Owner and Contributor carry no dataActions. Pulumi's diy backend reads `.pulumi/meta.yaml` at login
    (pulumi/pulumi pkg/backend/diy/meta.go, ensurePulumiMeta) through go-cloud's azureblob with an Entra token (the
    account refuses shared keys), and `pulumi stack init` encrypts the stack's data key through go-cloud's
    azurekeyvault keeper (google/go-cloud secrets/azurekeyvault/akv.go, Encrypt): Storage Blob Data Contributor on the
    container and Key Vault Crypto User on the key, as each pipeline identity has on its own stack's."""

    def __init__(self, name: str, args: OperatorAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("OperatorAccess", name, opts)
        for operator in args.operators:
            for stack, container_id in args.containers.items():
                for suffix, role, scope in (
                    ("state", "Storage Blob Data Contributor", container_id),
                    ("key", "Key Vault Crypto User", args.keys[stack]),
                ):
                    purpose = f"operator-{operator}-{stack}-{suffix}"
                    assign_role(
                        f"{name}-{operator}-{stack}-{suffix}",
                        RoleAssignmentSpec(
                            assigner=args.assigner,
                            purpose=purpose,
                            principal_id=operator,
                            role_id=IAC_ROLES[role],
                            scope=scope,
                            description=f"aks-estate-bootstrap: {role} for {purpose}",
                            principal_type=authorization.PrincipalType.USER,
                        ),
                        self,
                    )
        self.register_outputs({})
