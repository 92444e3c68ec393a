"""The Azure Resource Manager and container registry service connections, both by workload identity federation.

All are "manual" connections bound to one of the estate's user-assigned identities: Azure DevOps stores only the
identity's client ID and mints a short-lived token per job, which Entra ID exchanges because of the federated
credentials made from these connections' issuer and subject. No connection holds a password, key or certificate.

Two trust levels, two identities. The Azure and registry connections sign in as the pipelines identity, which CI and
staging use, where a service's own code runs (integration and acceptance tests, container builds): AzureCLI@2 runs
its script inside the connection's `az login` session (microsoft/azure-pipelines-tasks Tasks/AzureCLIV2/
azureclitask.ts `runMain`: `loginAzureRM` before `tool.exec` of the script, `logoutAzure` after), so whatever that
identity may do, a test merged to main may do. The production connection signs in as the release identity, which
alone holds the production roles; only CD's approved template at the release ref, from main, may use it, and that
template uses it for promotion and the production deployment only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as azuredevops

from components.component import Component
from components.devops.checks import CheckTarget, require_protected_branches
from components.devops.required_templates import RequiredTemplates, require_templates
from components.identity import FederatedSubject

WORKLOAD_IDENTITY_FEDERATION = "WorkloadIdentityFederation"


@dataclass(frozen=True)
class AzureSubscription:
    """What a connection acts on: one subscription, in the tenant whose identity the connection signs in as."""

    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]


@dataclass(frozen=True)
class Connection:
    """One connection: its name, the name of the federated credential its identity trusts it under, and the templates
    a run must extend to use it (every connection deploys or pushes)."""

    connection_name: str
    credential_name: str
    templates: RequiredTemplates


@dataclass(frozen=True)
class ProductionConnection(Connection):
    """The connection that signs in as the release identity (its templates: CD's only, CI's run the service's code),
    and what else admits a run to it."""

    identity_client_id: pulumi.Input[str]
    # The refs every repository of the run must be at (the service's main, the templates' release), as the production
    # environment's branch control requires; each must be protected by branch policies.
    allowed_branches: str


@dataclass(frozen=True)
class ServiceConnectionsArgs:
    project_id: pulumi.Input[str]
    subscription: AzureSubscription
    # The pipelines identity, which the Azure connection (for CI and CD) and the registry one (for CI) sign in as.
    identity_client_id: pulumi.Input[str]
    azure: Connection
    registry: Connection
    registry_name: pulumi.Input[str]
    registry_resource_group_name: pulumi.Input[str]
    production: ProductionConnection


@dataclass(frozen=True)
class ArmConnectionSpec:
    project_id: pulumi.Input[str]
    connection_name: str
    description: str
    subscription: AzureSubscription
    identity_client_id: pulumi.Input[str]


def arm_connection(name: str, spec: ArmConnectionSpec, parent: pulumi.Resource) -> azuredevops.ServiceEndpointAzureRM:
    """An Azure Resource Manager connection that signs in as one identity by workload identity federation only."""
    return azuredevops.ServiceEndpointAzureRM(
        name,
        project_id=spec.project_id,
        service_endpoint_name=spec.connection_name,
        description=spec.description,
        service_endpoint_authentication_scheme=WORKLOAD_IDENTITY_FEDERATION,
        credentials=azuredevops.ServiceEndpointAzureRMCredentialsArgs(serviceprincipalid=spec.identity_client_id),
        azurerm_spn_tenantid=spec.subscription.tenant_id,
        azurerm_subscription_id=spec.subscription.subscription_id,
        # Azure DevOps shows the name as a label only and the provider has no way to look it up; the ID is a name
        # that needs no extra config and never drifts from the subscription actually targeted.
        azurerm_subscription_name=spec.subscription.subscription_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def federated_subject(
    credential_name: str, connection: azuredevops.ServiceEndpointAzureRM | azuredevops.ServiceEndpointAzureEcr
) -> FederatedSubject:
    """The issuer and subject Azure DevOps presents when a job signs in through `connection`, under the name of the
    federated credential that trusts them."""
    return FederatedSubject(
        credential_name, connection.workload_identity_federation_issuer, connection.workload_identity_federation_subject
    )


class ServiceConnections(Component):
    azure_connection_id: pulumi.Output[str]
    registry_connection_id: pulumi.Output[str]
    production_connection_id: pulumi.Output[str]
    # For the pipelines identity, and for the release identity.
    federated_subjects: list[FederatedSubject]
    production_federated_subjects: list[FederatedSubject]

    def __init__(self, name: str, args: ServiceConnectionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:ServiceConnections", name, opts)
        azure = arm_connection(
            f"{name}-azure",
            ArmConnectionSpec(
                project_id=args.project_id,
                connection_name=args.azure.connection_name,
                description="aks-estate: Azure Resource Manager as the pipelines identity "
                "(workload identity federation)",
                subscription=args.subscription,
                identity_client_id=args.identity_client_id,
            ),
            parent=self,
        )
        registry = azuredevops.ServiceEndpointAzureEcr(
            f"{name}-registry",
            project_id=args.project_id,
            service_endpoint_name=args.registry.connection_name,
            description="aks-estate: the non-production registry as the pipelines identity (workload identity)",
            service_endpoint_authentication_scheme=WORKLOAD_IDENTITY_FEDERATION,
            credentials=azuredevops.ServiceEndpointAzureEcrCredentialsArgs(serviceprincipalid=args.identity_client_id),
            azurecr_spn_tenantid=args.subscription.tenant_id,
            azurecr_subscription_id=args.subscription.subscription_id,
            azurecr_subscription_name=args.subscription.subscription_id,
            azurecr_name=args.registry_name,
            resource_group=args.registry_resource_group_name,
            opts=self.child,
        )
        production = arm_connection(
            f"{name}-production",
            ArmConnectionSpec(
                project_id=args.project_id,
                connection_name=args.production.connection_name,
                description="aks-estate: Azure Resource Manager as the release identity, for promotion and the "
                "production deployment only (workload identity federation)",
                subscription=args.subscription,
                identity_client_id=args.production.identity_client_id,
            ),
            parent=self,
        )

        def endpoint(connection: pulumi.CustomResource) -> CheckTarget:
            return CheckTarget(
                project_id=args.project_id, target_resource_id=connection.id, target_resource_type="endpoint"
            )

        # On a service connection as on an environment, the check runs before any job of a stage that names it.
        require_protected_branches(
            f"{name}-production-branch-control",
            endpoint(production),
            allowed_branches=args.production.allowed_branches,
            display_name=f"Promote and deploy {args.production.allowed_branches} only, while protected",
            parent=self,
        )
        for key, resource, connection in (
            ("azure", azure, args.azure),
            ("registry", registry, args.registry),
            ("production", production, args.production),
        ):
            require_templates(
                f"{name}-{key}-required-templates",
                endpoint(resource),
                required=connection.templates,
                parent=self,
            )
        self.azure_connection_id = azure.id
        self.registry_connection_id = registry.id
        self.production_connection_id = production.id
        self.federated_subjects = [
            federated_subject(args.azure.credential_name, azure),
            federated_subject(args.registry.credential_name, registry),
        ]
        self.production_federated_subjects = [federated_subject(args.production.credential_name, production)]
        self.register_outputs(
            {
                "azureConnectionId": self.azure_connection_id,
                "registryConnectionId": self.registry_connection_id,
                "productionConnectionId": self.production_connection_id,
            }
        )
