"""Each service's tenancy in one AKS cluster: its namespace, managed through Azure Resource Manager, and the identity
its pods send telemetry as.

Namespaces are ARM resources (`Microsoft.ContainerService/managedClusters/managedNamespaces`, GA in API 2025-09-01),
not Kubernetes objects the stack writes through the API server: `pulumi up` needs no network path to a private API
server for them, and no Kubernetes credential. `deletePolicy: Keep` makes AKS leave the Kubernetes namespace, and
every workload in it, in place when the ARM resource goes (a service taken out of config); `adoptionPolicy: Always`
takes over a namespace of the same name, which is how stacks whose namespaces the Kubernetes provider created move
to this design (README, "Moving an existing stack").

Telemetry: Application Insights refuses key-based ingestion in prod (`disableLocalAuth`), so each service's pods
authenticate with a user-assigned identity of their own, one per service and cluster, federated to the service's
Kubernetes service account (the account the Deployment names; the manifest annotates it with this identity's client
ID, and the AKS workload identity webhook projects the token, learn.microsoft.com/azure/aks/workload-identity-overview).
Its one role, Monitoring Metrics Publisher on the Application Insights component, is granted in components/identity.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import containerservice, managedidentity

from components import naming
from components.identity import WORKLOAD_IDENTITY_AUDIENCE

PART_OF = {"app.kubernetes.io/part-of": "aks-estate", "app.kubernetes.io/managed-by": "pulumi"}
# The committed manifests run as non-root with every capability dropped and the RuntimeDefault seccomp profile, which
# is what the restricted Pod Security Standard demands; enforcing it stops anything weaker from being scheduled.
POD_SECURITY = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}


def telemetry_subject(service: str) -> str:
    """The token subject of the service's pods: the service account the manifests give the Deployment."""
    return f"system:serviceaccount:{naming.ServiceNames(service).namespace}:{service}"


@dataclass(frozen=True)
class ClusterTenantsArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    cluster_name: pulumi.Input[str]
    # The cluster's OIDC issuer, which signs the service accounts' tokens the federated credentials accept.
    oidc_issuer_url: pulumi.Input[str]
    stage: naming.Stage
    names: naming.EstateNames
    services: Sequence[str]
    tags: Mapping[str, str]
    # Namespaces hold workloads: protected in prod.
    protect: bool = False


class ClusterTenants(pulumi.ComponentResource):
    """A managed namespace and a telemetry identity for every service in one cluster."""

    telemetry_client_ids: dict[str, pulumi.Output[str]]
    telemetry_principal_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ClusterTenantsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:azure:ClusterTenants", name, None, opts)
        self.telemetry_client_ids = {}
        self.telemetry_principal_ids = {}
        for service in args.services:
            containerservice.ManagedNamespace(
                f"{name}-{service}-namespace",
                resource_group_name=args.resource_group_name,
                resource_name_=args.cluster_name,
                managed_namespace_name=naming.ServiceNames(service).namespace,
                location=args.location,
                properties=containerservice.NamespacePropertiesArgs(
                    labels={**PART_OF, **POD_SECURITY},
                    adoption_policy=containerservice.AdoptionPolicy.ALWAYS,
                    delete_policy=containerservice.DeletePolicy.KEEP,
                    # AKS would otherwise apply "allow same namespace" to ingress (concepts-managed-namespaces),
                    # cutting the ingress controllers and declared callers off; the manifests bring their own
                    # deny-by-default policies that open exactly those paths.
                    default_network_policy=containerservice.NetworkPoliciesArgs(
                        ingress=containerservice.PolicyRule.ALLOW_ALL, egress=containerservice.PolicyRule.ALLOW_ALL
                    ),
                ),
                tags=dict(args.tags),
                # The ARM object goes with the service's config entry only on purpose, and even then AKS keeps the
                # Kubernetes namespace (deletePolicy Keep); the stack lets go of it like of a repository.
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True),
            )
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-{service}-telemetry",
                resource_name_=args.names.telemetry_identity(args.stage, service),
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            managedidentity.FederatedIdentityCredential(
                f"{name}-{service}-telemetry-federation",
                federated_identity_credential_resource_name=naming.TELEMETRY_CREDENTIAL,
                resource_name_=identity.name,
                resource_group_name=args.resource_group_name,
                issuer=args.oidc_issuer_url,
                subject=telemetry_subject(service),
                audiences=[WORKLOAD_IDENTITY_AUDIENCE],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.telemetry_client_ids[service] = identity.client_id
            self.telemetry_principal_ids[service] = identity.principal_id
        self.register_outputs(
            {"telemetryClientIds": self.telemetry_client_ids, "telemetryPrincipalIds": self.telemetry_principal_ids}
        )
