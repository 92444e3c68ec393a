"""Each service's namespace in one AKS cluster, registered as a Kubernetes resource of that cluster's environment.

Reaching the cluster: the clusters use Microsoft Entra ID with local accounts disabled, so there is no static
credential to fetch. The provider gets the cluster-user kubeconfig in `exec` format (a kubelogin exec plugin instead
of the removed `azure` auth provider) with the interactive device-code login replaced by `azurecli`, which reuses the
`az login` session of whoever runs `pulumi up`. That identity therefore needs the Azure CLI signed in, `kubelogin` on
PATH, and Kubernetes rights to create namespaces and RBAC objects (a member of the clusters' admin groups, or "Azure
Kubernetes Service RBAC Cluster Admin"). In an Azure Pipelines job, the AzureCLI task provides that session from a
workload-identity service connection.

The Azure DevOps side, and the one stored secret of the estate: an environment's Kubernetes resource must name a
Kubernetes service connection, and none of its three kinds works without a stored credential here. "AzureSubscription"
makes Azure DevOps fetch static cluster credentials to create its own service account (refused while local accounts
are disabled) and then stores that account's token anyway; "Kubeconfig" stores a kubeconfig, whose Entra token would
expire or whose exec plugin the service cannot run. The least bad is "ServiceAccount": a long-lived token of a
`deploy` service account bound to a Role in this one namespace, kept as a Pulumi secret and in Azure DevOps' secret
store. Deployments themselves do not use it (they go through the workload-identity Azure connection and Azure RBAC);
it feeds the environment's resource view and the default connection of jobs that target the resource. Deleting the
`deploy-token` Secret revokes it; `pulumi up --replace` on that Secret rotates it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azuredevops as azuredevops
import pulumi_kubernetes as kubernetes
import yaml
from pulumi_azure_native import containerservice

from components import naming
from components.service_files.layout import APPINSIGHTS_KEY, APPINSIGHTS_SECRET_NAME, INTERNAL_INGRESS_CLASS

KUBELOGIN_LOGIN = "azurecli"
DEPLOY_ACCOUNT = "deploy"
DEPLOY_TOKEN_SECRET = "deploy-token"
PART_OF = {"app.kubernetes.io/part-of": "aks-estate", "app.kubernetes.io/managed-by": "pulumi"}
# The rendered manifests run as non-root with every capability dropped and the RuntimeDefault seccomp profile, which
# is what the restricted Pod Security Standard demands; enforcing it stops anything weaker from being scheduled.
POD_SECURITY = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}

_READ = ("get", "list", "watch")


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]


# The one stored credential only feeds the environment's resource view (workloads, services, pods and their events):
# deployments and the acceptance tests' port-forward go through the workload-identity connection and Azure RBAC, so
# the token can read what the view shows and change nothing. No secrets, no RBAC objects, nothing cluster-wide.
DEPLOY_RULES: tuple[Rule, ...] = (
    Rule(("apps",), ("deployments", "replicasets"), _READ),
    Rule(("",), ("services", "pods", "pods/log", "events"), _READ),
    Rule(("autoscaling",), ("horizontalpodautoscalers",), _READ),
)


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
class ClusterTargetsArgs:
    project_id: pulumi.Input[str]
    stage: naming.Stage
    environment_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    cluster_fqdn: pulumi.Input[str]
    services: Sequence[str]
    app_insights_connection_string: pulumi.Input[str]
    # A second application routing controller behind an internal load balancer, for services exposed internally.
    internal_ingress: bool = False
    # Namespaces hold the services' workloads: never deleted with a service's config entry, protected in prod.
    protect: bool = False


@dataclass(frozen=True)
class NamespaceTargetArgs:
    project_id: pulumi.Input[str]
    environment_id: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    api_server_url: pulumi.Input[str]
    namespace: str
    connection_name: str
    app_insights_connection_string: pulumi.Input[str]
    protect: bool = False


class NamespaceTarget(pulumi.ComponentResource):
    """One namespace with its deploy identity, registered with the environment through its own connection."""

    connection_id: pulumi.Output[str]

    def __init__(self, name: str, args: NamespaceTargetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:NamespaceTarget", name, None, opts)
        namespace = kubernetes.core.v1.Namespace(
            f"{name}-namespace",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=args.namespace, labels={**PART_OF, **POD_SECURITY}),
            # Deleting a namespace deletes every workload in it: removing a service from config lets go of it instead.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True, protect=args.protect),
        )
        namespace_name = namespace.metadata.apply(lambda namespace_metadata: str(namespace_metadata.name))

        def metadata(object_name: str, **extra: Any) -> kubernetes.meta.v1.ObjectMetaArgs:
            return kubernetes.meta.v1.ObjectMetaArgs(
                name=object_name, namespace=namespace_name, labels=PART_OF, **extra
            )

        account = kubernetes.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=metadata(DEPLOY_ACCOUNT),
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        role = kubernetes.rbac.v1.Role(
            f"{name}-role",
            metadata=metadata(DEPLOY_ACCOUNT),
            rules=[
                kubernetes.rbac.v1.PolicyRuleArgs(
                    api_groups=list(rule.api_groups), resources=list(rule.resources), verbs=list(rule.verbs)
                )
                for rule in DEPLOY_RULES
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        kubernetes.rbac.v1.RoleBinding(
            f"{name}-role-binding",
            metadata=metadata(DEPLOY_ACCOUNT),
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io",
                kind="Role",
                name=role.metadata.apply(lambda role_metadata: str(role_metadata.name)),
            ),
            subjects=[
                kubernetes.rbac.v1.SubjectArgs(
                    kind="ServiceAccount",
                    name=account.metadata.apply(lambda account_metadata: str(account_metadata.name)),
                    namespace=namespace_name,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Since Kubernetes 1.24 no token is minted for a service account unless a Secret of this type asks for one;
        # the provider waits until the token controller has filled it in.
        token = kubernetes.core.v1.Secret(
            f"{name}-token",
            metadata=metadata(
                DEPLOY_TOKEN_SECRET,
                annotations={
                    "kubernetes.io/service-account.name": account.metadata.apply(
                        lambda account_metadata: str(account_metadata.name)
                    )
                },
            ),
            type="kubernetes.io/service-account-token",
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The service's telemetry target, mounted as a file by the Deployment the CD pipeline applies.
        kubernetes.core.v1.Secret(
            f"{name}-appinsights",
            metadata=metadata(APPINSIGHTS_SECRET_NAME),
            type="Opaque",
            string_data={APPINSIGHTS_KEY: pulumi.Output.secret(args.app_insights_connection_string)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        connection = azuredevops.ServiceEndpointKubernetes(
            f"{name}-connection",
            project_id=args.project_id,
            service_endpoint_name=args.connection_name,
            description=f"aks-estate: namespace {args.namespace} as its namespace-bound '{DEPLOY_ACCOUNT}' account",
            apiserver_url=args.api_server_url,
            authorization_type="ServiceAccount",
            service_account=azuredevops.ServiceEndpointKubernetesServiceAccountArgs(
                token=pulumi.Output.secret(token.data.apply(lambda data: str(data["token"]))),
                ca_cert=pulumi.Output.secret(token.data.apply(lambda data: str(data["ca.crt"]))),
                accept_untrusted_certs=False,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        azuredevops.EnvironmentResourceKubernetes(
            f"{name}-environment-resource",
            project_id=args.project_id,
            environment_id=pulumi.Output.from_input(args.environment_id).apply(int),
            service_endpoint_id=connection.id,
            # Deployment jobs target "<environment>.<namespace>", so the resource carries the namespace's name.
            name=args.namespace,
            namespace=namespace_name,
            cluster_name=args.cluster_name,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.connection_id = connection.id
        self.register_outputs({"connectionId": self.connection_id})


class ClusterTargets(pulumi.ComponentResource):
    """A Kubernetes provider for one cluster and a `NamespaceTarget` per service in it."""

    connection_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ClusterTargetsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:ClusterTargets", name, None, opts)
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=args.cluster_name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        provider = kubernetes.Provider(
            f"{name}-provider",
            kubeconfig=pulumi.Output.secret(credentials.kubeconfigs.apply(_decoded)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        api_server_url = pulumi.Output.concat("https://", args.cluster_fqdn)
        if args.internal_ingress:
            # The add-on's own resource for an extra controller; its class is what internal Ingresses name
            # (learn.microsoft.com/azure/aks/app-routing-nginx-configuration, "internal NGINX ingress controller").
            kubernetes.apiextensions.CustomResource(
                f"{name}-internal-ingress",
                api_version="approuting.kubernetes.azure.com/v1alpha1",
                kind="NginxIngressController",
                metadata=kubernetes.meta.v1.ObjectMetaArgs(name=INTERNAL_INGRESS_CLASS, labels=PART_OF),
                spec={
                    "ingressClassName": INTERNAL_INGRESS_CLASS,
                    "controllerNamePrefix": INTERNAL_INGRESS_CLASS,
                    "loadBalancerAnnotations": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
                },
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
        self.connection_ids = {}
        for service in args.services:
            target = NamespaceTarget(
                f"{name}-{service}",
                NamespaceTargetArgs(
                    project_id=args.project_id,
                    environment_id=args.environment_id,
                    cluster_name=args.cluster_name,
                    api_server_url=api_server_url,
                    namespace=naming.ServiceNames(service).namespace,
                    connection_name=naming.ServiceNames(service).kubernetes_connection(args.stage),
                    app_insights_connection_string=args.app_insights_connection_string,
                    protect=args.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider}),
            )
            self.connection_ids[service] = target.connection_id
        self.register_outputs({"connectionIds": self.connection_ids})
