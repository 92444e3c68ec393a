"""The one object the stack writes through a cluster's API server: the internal ingress controller.

Namespaces are ARM resources (components/tenancy.py) and deployments go through the pipelines' workload-identity
connection with Azure RBAC, so nothing else needs the API server. A second application routing controller behind an
internal load balancer is the add-on's own custom resource, which only the API server takes; the stack creates it in
a cluster only when an Ingress there names its class (an internal service's, or in staging an exposed service's
without a stagingHost), and then `pulumi up` must reach the API server (from the agents' network when the API server
is private).

Reaching the cluster: the clusters use Microsoft Entra ID with local accounts disabled, so there is no static
credential to fetch. The provider gets the cluster-user kubeconfig in `exec` format (a kubelogin exec plugin instead
of the removed `azure` auth provider) with the interactive device-code login replaced by `azurecli`, which reuses the
`az login` session of whoever runs `pulumi up`. That identity therefore needs the Azure CLI signed in, `kubelogin` on
PATH, and Kubernetes rights to create the controller (a member of the clusters' admin groups, or "Azure Kubernetes
Service RBAC Cluster Admin"). In an Azure Pipelines job, the AzureCLI task provides that session from a
workload-identity service connection.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
import yaml
from pulumi_azure_native import containerservice

from components.component import Component
from components.service_files.manifests import renderer

KUBELOGIN_LOGIN = "azurecli"
PART_OF = {"app.kubernetes.io/part-of": "aks-estate", "app.kubernetes.io/managed-by": "pulumi"}


def non_interactive_kubeconfig(kubeconfig: str, login: str = KUBELOGIN_LOGIN) -> str:
    """The AKS `exec` kubeconfig with kubelogin's login mode set to `login` for every user."""
    document: dict[str, Any] = yaml.safe_load(kubeconfig) or {}
    users = document.get("users") or []
    if not users:
        raise ValueError("the cluster's kubeconfig names no user to authenticate as")
    for user in users:
        plugin = (user.get("user") or {}).get("exec") or {}
        if plugin.get("command") != "kubelogin":
            raise ValueError(
                f"kubeconfig user {user.get('name')!r} does not authenticate through kubelogin: "
                "request the credentials with format=exec"
            )
        args = [str(arg) for arg in plugin.get("args") or []]
        flags = [index for index, arg in enumerate(args) if arg in ("--login", "-l")]
        if flags:
            args[flags[0] + 1] = login
        else:
            args += ["--login", login]
        plugin["args"] = args
    return yaml.safe_dump(document, sort_keys=False)


def _decoded(kubeconfigs: Sequence[Any]) -> str:
    if not kubeconfigs:
        raise ValueError("AKS returned no cluster-user kubeconfig")
    return non_interactive_kubeconfig(base64.b64decode(kubeconfigs[0].value).decode("utf-8"))


@dataclass(frozen=True)
class InternalIngressArgs:
    resource_group_name: pulumi.Input[str]
    # Resolved once the cluster's user pool exists (Cluster.cluster_name_after_user_pool): the kubeconfig, so the
    # provider and the controller, wait for it.
    cluster_name: pulumi.Input[str]
    cluster_id: pulumi.Input[str]


class InternalIngress(Component):
    """A Kubernetes provider for one cluster and the add-on's internal-load-balancer NGINX controller in it."""

    def __init__(self, name: str, args: InternalIngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Was the cluster's "targets" (namespaces, accounts, connections) before namespaces moved to ARM.
        super().__init__(
            "aks-estate:devops:InternalIngress",
            name,
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="aks-estate:devops:ClusterTargets")])
            ),
        )
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=args.cluster_name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        provider = kubernetes.Provider(
            f"{name}-provider",
            kubeconfig=pulumi.Output.secret(credentials.kubeconfigs.apply(_decoded)),
            # The kubeconfig is unknown in a preview that replaces the user pool, and an unknown kubeconfig alone
            # plans the provider's replacement, so the controller's; with a cluster identifier that stays the same,
            # the provider is replaced only when the cluster is (pulumi/pulumi-kubernetes provider/pkg/provider/
            # provider.go, DiffConfig).
            cluster_identifier=args.cluster_id,
            opts=self.child,
        )
        # The add-on's own resource for an extra controller; its class is what internal Ingresses name
        # (learn.microsoft.com/azure/aks/app-routing-nginx-configuration, "internal NGINX ingress controller").
        internal_class = renderer().INTERNAL_INGRESS_CLASS
        kubernetes.apiextensions.CustomResource(
            f"{name}-internal-ingress",
            api_version="approuting.kubernetes.azure.com/v1alpha1",
            kind="NginxIngressController",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=internal_class, labels=PART_OF),
            spec={
                "ingressClassName": internal_class,
                "controllerNamePrefix": internal_class,
                "loadBalancerAnnotations": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
            },
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.register_outputs({})
