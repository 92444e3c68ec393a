"""Identities and least-privilege role assignments, each scoped to one resource.

No Owner, Contributor or User Access Administrator is granted anywhere: `BUILT_IN_ROLES` is the complete list of
roles this estate hands out.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pulumi
from pulumi_azure_native import authorization, managedidentity

from components.component import Component, Placement

# Built-in role definition IDs are the same in every Azure tenant (learn.microsoft.com/azure/role-based-access-control/
# built-in-roles).
BUILT_IN_ROLES: dict[str, str] = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "Container Registry Data Importer and Data Reader": "577a9874-89fd-4f24-9dbd-b5034d0ad23a",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Certificate User": "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
    "Azure Kubernetes Service Cluster User Role": "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
    "Azure Kubernetes Service RBAC Writer": "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
    # What Entra ID ingestion into Application Insights requires of the sender (learn.microsoft.com/azure/
    # azure-monitor/app/azure-ad-authentication, "Assign a role to the Azure service").
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    # The DevOpsInfrastructure service principal on the estate network, which its agents join (devops_pool.py).
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
}
# Seeds the deterministic role assignment names; changing it would replace every assignment.
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("1f0e6a4c-3c1d-5b1e-9f7a-aa5e57a7e001")
WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange"


def estate_assignable_role_ids() -> list[str]:
    """The role definition GUIDs the estate assigns: `Grant` refuses every other role, so these and no more are what
    the estate's deployer must be able to assign (bootstrap/access.py limits its RBAC Administrator role to them)."""
    return sorted(BUILT_IN_ROLES.values())


def role_assignment_name(subscription_id: str, stack_key: str, purpose: str) -> str:
    """A GUID that is the same on every run for the same subscription, stack and purpose, and differs between them:
    assignment names are unique per tenant, and one tenant may hold the same stack in two subscriptions."""
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, f"{subscription_id}/{stack_key}/{purpose}"))


@dataclass(frozen=True)
class Assigner:
    """The stack that makes role assignments, in the subscription it deploys to: both key the assignments' names."""

    subscription_id: pulumi.Input[str]
    stack_key: str


@dataclass(frozen=True)
class Grant:
    """`role` for `principal_id` on exactly `scope`; `purpose` is a stable key that names the assignment."""

    # The roles this kind of grant hands out (name to role definition ID), and the program its assignments name.
    ROLES: ClassVar[Mapping[str, str]] = BUILT_IN_ROLES
    PROGRAM: ClassVar[str] = "aks-estate"

    purpose: str
    role: str
    principal_id: pulumi.Input[str]
    scope: pulumi.Input[str]

    def __post_init__(self) -> None:
        if self.role not in self.ROLES:
            raise ValueError(f"role {self.role!r} is not one this estate grants: {sorted(self.ROLES)}")

    def condition(self) -> str | None:
        """An ABAC condition (version 2.0) narrowing what the role allows; a plain grant has none."""
        return None


@dataclass(frozen=True)
class RoleAssignmentSpec:
    assigner: Assigner
    purpose: str
    principal_id: pulumi.Input[str]
    role_id: str
    scope: pulumi.Input[str]
    description: str
    # An ABAC condition (version 2.0) narrowing what the role allows, e.g. which roles a role-assigning role assigns.
    condition: str | None = None
    principal_type: authorization.PrincipalType = authorization.PrincipalType.SERVICE_PRINCIPAL


def assign_role(name: str, spec: RoleAssignmentSpec, parent: pulumi.Resource) -> authorization.RoleAssignment:
    """One role assignment to a service principal, named deterministically from the stack and its purpose."""
    return authorization.RoleAssignment(
        name,
        role_assignment_name=pulumi.Output.from_input(spec.assigner.subscription_id).apply(
            functools.partial(role_assignment_name, stack_key=spec.assigner.stack_key, purpose=spec.purpose)
        ),
        principal_id=spec.principal_id,
        principal_type=spec.principal_type,
        role_definition_id=pulumi.Output.concat(
            "/subscriptions/",
            spec.assigner.subscription_id,
            "/providers/Microsoft.Authorization/roleDefinitions/",
            spec.role_id,
        ),
        scope=spec.scope,
        condition=spec.condition,
        condition_version="2.0" if spec.condition else None,
        description=spec.description,
        # A new principal or scope replaces the assignment under the same deterministic name, which Azure refuses
        # while the old one exists: delete first.
        opts=pulumi.ResourceOptions(parent=parent, delete_before_replace=True),
    )


def system_assigned_principal(what: str) -> Callable[[object], str]:
    """The principal ID of a resource's system-assigned identity, from its `identity` output; refuses a resource that
    came back without one, naming `what` needs it."""

    def principal(identity: object) -> str:
        principal_id = getattr(identity, "principal_id", None)
        if not principal_id:
            raise ValueError(f"{what} came back without its system-assigned identity's principal")
        return str(principal_id)

    return principal


def assign_grants(name: str, assigner: Assigner, grants: Sequence[Grant], parent: pulumi.Resource) -> None:
    """Every grant as one assignment named `<name>-<purpose>`: purposes name them, so they must be unique."""
    purposes = [grant.purpose for grant in grants]
    if len(set(purposes)) != len(purposes):
        raise ValueError(f"grant purposes must be unique: {purposes}")
    for grant in grants:
        spec = RoleAssignmentSpec(
            assigner=assigner,
            purpose=grant.purpose,
            principal_id=grant.principal_id,
            role_id=grant.ROLES[grant.role],
            scope=grant.scope,
            description=f"{grant.PROGRAM}: {grant.role} for {grant.purpose}",
            condition=grant.condition(),
        )
        assign_role(f"{name}-{grant.purpose}", spec, parent)


@dataclass(frozen=True)
class RoleGrantsArgs:
    assigner: Assigner
    grants: Sequence[Grant]


class RoleGrants(Component):
    """Service-principal role assignments with names derived from the stack and the grant's purpose."""

    # A subclass files the same assignments under its own program's type token (bootstrap/access.py).
    TYPE: ClassVar[str] = "aks-estate:identity:RoleGrants"

    def __init__(self, name: str, args: RoleGrantsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, opts)
        assign_grants(name, args.assigner, args.grants, parent=self)
        self.register_outputs({})


@dataclass(frozen=True)
class PipelineIdentityArgs:
    placement: Placement
    identity_name: str


class PipelineIdentity(Component):
    """The user-assigned identity that Azure Pipelines acts as, through workload identity federation only."""

    identity_id: pulumi.Output[str]
    identity_name: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    client_id: pulumi.Output[str]

    def __init__(self, name: str, args: PipelineIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:identity:PipelineIdentity", name, opts)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=args.identity_name,
            **args.placement,
            opts=self.child,
        )
        self.identity_id = identity.id
        self.identity_name = identity.name
        self.principal_id = identity.principal_id
        self.client_id = identity.client_id
        self.register_outputs(
            {"identityId": self.identity_id, "principalId": self.principal_id, "clientId": self.client_id}
        )


@dataclass(frozen=True)
class FederatedSubject:
    """One issuer/subject pair that may exchange its token for the identity's; Azure DevOps issues it."""

    credential_name: str
    issuer: pulumi.Input[str]
    subject: pulumi.Input[str]


@dataclass(frozen=True)
class FederatedCredentialsArgs:
    resource_group_name: pulumi.Input[str]
    identity_name: pulumi.Input[str]
    subjects: Sequence[FederatedSubject]


class FederatedCredentials(Component):
    def __init__(self, name: str, args: FederatedCredentialsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:identity:FederatedCredentials", name, opts)
        previous: managedidentity.FederatedIdentityCredential | None = None
        for subject in args.subjects:
            # Azure rejects concurrent writes of federated credentials on one identity, so they are created in turn.
            previous = managedidentity.FederatedIdentityCredential(
                f"{name}-{subject.credential_name}",
                federated_identity_credential_resource_name=subject.credential_name,
                resource_name_=args.identity_name,
                resource_group_name=args.resource_group_name,
                issuer=subject.issuer,
                subject=subject.subject,
                audiences=[WORKLOAD_IDENTITY_AUDIENCE],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous] if previous else None),
            )
        self.register_outputs({})


@dataclass(frozen=True)
class ClusterPrincipals:
    cluster_id: pulumi.Input[str]
    kubelet_object_id: pulumi.Input[str]
    # The application routing add-on's identity, which reads ingress certificates.
    app_routing_object_id: pulumi.Input[str]


@dataclass(frozen=True)
class EstateAccess:
    """Who and what the estate's role assignments connect."""

    # CI and staging: every step that runs a service's own code (tests, container builds) signs in as this one.
    pipelines_principal_id: pulumi.Input[str]
    # Promotion and the production deployment only, through a connection that CD's approved template alone may use.
    production_principal_id: pulumi.Input[str]
    # By stage: "staging" pulls from the "nonprod" registry, "production" from "prod".
    clusters: Mapping[str, ClusterPrincipals]
    registry_ids: Mapping[str, pulumi.Input[str]]
    vault_id: pulumi.Input[str]
    # By name: every secret CI reads (AzureKeyVault@2 with a SecretsFilter of exactly these names).
    ci_secret_ids: Mapping[str, pulumi.Input[str]]
    services: Sequence[str]
    # By stage: the names of the Key Vault certificates that stage's ingresses serve.
    served_certificates: Mapping[str, Sequence[str]]
    app_insights_id: pulumi.Input[str]
    # By stage, then service: the identity each service's pods send telemetry as.
    telemetry_principal_ids: Mapping[str, Mapping[str, pulumi.Input[str]]]


# Who deploys to each stage's cluster, by the prefix of the grants' purposes: a test or build that a merge to main can
# change runs as the pipelines identity, so that identity holds nothing in production.
DEPLOYERS: Mapping[str, str] = {"staging": "pipelines", "production": "release"}


def estate_grants(access: EstateAccess) -> list[Grant]:
    """Every role assignment of the estate, each scoped to the one resource (or namespace) it is for."""
    pipelines, registries, vault = access.pipelines_principal_id, access.registry_ids, access.vault_id
    deployers = {"staging": pipelines, "production": access.production_principal_id}
    release = deployers["production"]
    clusters = access.clusters
    grants = [
        Grant("staging-kubelet-pull-nonprod", "AcrPull", clusters["staging"].kubelet_object_id, registries["nonprod"]),
        Grant("production-kubelet-pull-prod", "AcrPull", clusters["production"].kubelet_object_id, registries["prod"]),
        Grant("pipelines-push-nonprod", "AcrPush", pipelines, registries["nonprod"]),
        # `az acr import` reads the source through Entra ID too: the importer role on both ends of the promotion.
        Grant(
            "release-import-from-nonprod",
            "Container Registry Data Importer and Data Reader",
            release,
            registries["nonprod"],
        ),
        Grant("release-import-prod", "Container Registry Data Importer and Data Reader", release, registries["prod"]),
        # Each secret CI reads, not the vault: Key Vault Secrets User on a vault reads every secret in it, including
        # the private key behind each ingress certificate (a certificate's key is a secret of the same name), and a
        # service's own tests run in this identity's session (learn.microsoft.com/azure/key-vault/general/rbac-guide:
        # built-in roles; "Secret scope role assignment"). AzureKeyVault@2 with named secrets gets each by name and
        # lists nothing (microsoft/azure-pipelines-tasks Tasks/AzureKeyVaultV2/operations/KeyVault.ts,
        # downloadSelectedSecrets).
        *(
            Grant(f"pipelines-read-secret-{name}", "Key Vault Secrets User", pipelines, secret_id)
            for name, secret_id in sorted(access.ci_secret_ids.items())
        ),
        # CI's integration tests send telemetry as the pipelines identity: Application Insights refuses keys in prod.
        Grant("pipelines-publish-telemetry", "Monitoring Metrics Publisher", pipelines, access.app_insights_id),
    ]
    # Each cluster's application routing add-on reads only the certificates its own stage serves: one that could read
    # a production certificate would copy it into any staging namespace whose Ingress names it, and the pipelines
    # identity writes Ingresses and reads Secrets there. The add-on reads a certificate as the secret of its name
    # (Azure/aks-app-routing-operator pkg/controller/keyvault/spc/reconcile.go buildSpc: objectType "secret"; the
    # Secrets Store CSI provider needs GET on exactly the objects it names), so the scope is that secret: an assignment
    # on `<vault>/certificates/<name>` is reported not to reach it (ForbiddenByRbac, Azure/azure-sdk-for-python#19919),
    # while secret-scoped ones are Key Vault's documented individual scope (rbac-guide, "Secret scope role
    # assignment"; README, "Known limitations").
    grants.extend(
        Grant(
            f"{stage}-app-routing-read-certificate-{certificate}",
            "Key Vault Certificate User",
            cluster.app_routing_object_id,
            pulumi.Output.concat(vault, "/secrets/", certificate),
        )
        for stage, cluster in clusters.items()
        for certificate in sorted(set(access.served_certificates.get(stage, ())))
    )
    for stage, cluster in clusters.items():
        deployer, principal = DEPLOYERS[stage], deployers[stage]
        grants.append(
            Grant(
                f"{deployer}-credentials-{stage}",
                "Azure Kubernetes Service Cluster User Role",
                principal,
                cluster.cluster_id,
            )
        )
        # Deploy rights end at each service's namespace: Azure RBAC for Kubernetes accepts namespace scopes.
        grants.extend(
            Grant(
                f"{deployer}-deploy-{stage}-{service}",
                "Azure Kubernetes Service RBAC Writer",
                principal,
                pulumi.Output.concat(cluster.cluster_id, "/namespaces/", service),
            )
            for service in access.services
        )
        grants.extend(
            Grant(f"telemetry-{stage}-{service}", "Monitoring Metrics Publisher", sender, access.app_insights_id)
            for service, sender in access.telemetry_principal_ids[stage].items()
        )
    return grants
