"""Physical names of everything the estate creates, each checked against the naming rule of its resource type.

Names derive only from the prefix, the environment and the service names, never from a clock or a random value, so
that the next `pulumi up` finds the same resources. The rules are Azure's published ones ("Naming rules and
restrictions for Azure resources", learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules)
and Kubernetes' DNS-1123 label rule for namespaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

PREFIX_PATTERN = r"^[a-z][a-z0-9]{1,9}$"
# Service names become repository names, Kubernetes namespaces and parts of pipeline and identity names; 30
# characters leaves room for every suffix below within each rule's maximum.
SERVICE_NAME_PATTERN = r"^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$"
SERVICE_NAME_MAX = 30
APPINSIGHTS_SECRET = "appinsights-connection-string"
RESERVED_SECRET_NAMES = frozenset({APPINSIGHTS_SECRET})
# The stack whose Managed DevOps Pool also serves the bootstrap's IaC project: the bootstrap grants only this stack's
# identities there (bootstrap/organisation.py), so only its config may name that project.
IAC_POOL_STACK = "prod"
# The tag that says which stage's images a registry holds ("nonprod" or "prod").
REGISTRY_ROLE_TAG = "aks-estate-registry"

Stage = Literal["staging", "production"]
# OpenTelemetry's service.namespace of each run that is not production, set through OTEL_RESOURCE_ATTRIBUTES (read by
# every OTel SDK's environment resource detector): the manifests renderer gives each stage its own, CI's integration
# tests run as "ci". The Azure Monitor exporter names the cloud role "<service.namespace>.<service.name>"
# (azure-monitor-opentelemetry-exporter azure/monitor/opentelemetry/exporter/_utils.py _get_cloud_role), which the
# Application Insights alerts exclude.
CI_TELEMETRY_NAMESPACE = "ci"
PRE_RELEASE_TELEMETRY_NAMESPACES = ("staging", CI_TELEMETRY_NAMESPACE)


def telemetry_resource_attributes(namespace: str) -> str:
    """The OTEL_RESOURCE_ATTRIBUTES value (comma-separated key=value) of a run in `namespace`."""
    return f"service.namespace={namespace}"


def pre_release_role_names(services: Sequence[str]) -> list[str]:
    """The cloud role names staging and CI report each service under."""
    return [f"{namespace}.{service}" for service in services for namespace in PRE_RELEASE_TELEMETRY_NAMESPACES]


RegistryRole = Literal["nonprod", "prod"]
SubnetRole = Literal["staging-nodes", "production-nodes", "private-endpoints", "agents"]
SUBNET_ROLES: tuple[SubnetRole, ...] = ("staging-nodes", "production-nodes", "private-endpoints", "agents")


class InvalidNameError(ValueError):
    """A derived name that breaks its resource type's naming rule."""


@dataclass(frozen=True)
class NameRule:
    min_length: int
    max_length: int
    pattern: str
    rule: str

    def check(self, kind: str, name: str) -> str:
        if not self.min_length <= len(name) <= self.max_length or not re.fullmatch(self.pattern, name):
            raise InvalidNameError(f"{kind} name {name!r} breaks Azure's rule: {self.rule}")
        return name


RULES: dict[str, NameRule] = {
    "resource group": NameRule(1, 90, r"[-\w.()]*[-\w()]", "1-90 letters, digits, '-', '_', '.', '()'; no final '.'"),
    "Log Analytics workspace": NameRule(
        4, 63, r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", "4-63 letters, digits, '-'; starts and ends alphanumeric"
    ),
    "Application Insights component": NameRule(1, 255, r"[^%&\\?/]*[^%&\\?/.]", "1-255 characters, none of %&\\?/"),
    "Key Vault": NameRule(
        3,
        24,
        r"[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]",
        "3-24 letters, digits, '-'; starts with a letter, ends alphanumeric, no '--'",
    ),
    "container registry": NameRule(5, 50, r"[A-Za-z0-9]+", "5-50 letters and digits"),
    "AKS cluster": NameRule(
        1, 63, r"[A-Za-z0-9][A-Za-z0-9_-]*[A-Za-z0-9]", "1-63 letters, digits, '-', '_'; starts and ends alphanumeric"
    ),
    "AKS DNS prefix": NameRule(
        1, 54, r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", "1-54 letters, digits, '-'; starts and ends alphanumeric"
    ),
    "AKS node pool": NameRule(1, 12, r"[a-z][a-z0-9]*", "1-12 lowercase letters and digits; starts with a letter"),
    "user-assigned identity": NameRule(
        3, 128, r"[A-Za-z0-9][A-Za-z0-9_-]*", "3-128 letters, digits, '-', '_'; starts alphanumeric"
    ),
    "federated identity credential": NameRule(
        3, 120, r"[A-Za-z0-9][A-Za-z0-9_-]*", "3-120 letters, digits, '-', '_'; starts alphanumeric"
    ),
    "data collection rule": NameRule(
        3,
        64,
        r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]",
        "3-64 letters, digits, '-', '_', '.'; ends alphanumeric or '_'",
    ),
    "Kubernetes namespace": NameRule(
        1, 63, r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "DNS-1123 label: 1-63 lowercase alphanumerics and '-'"
    ),
    "Azure DevOps repository": NameRule(
        1, 64, r"[A-Za-z0-9][A-Za-z0-9._-]*", "1-64 characters, no reserved characters"
    ),
    "Azure DevOps pipeline": NameRule(
        1, 255, r"[A-Za-z0-9][A-Za-z0-9 ._-]*", "1-255 characters, no reserved characters"
    ),
    "Azure DevOps service connection": NameRule(
        1, 80, r"[A-Za-z0-9][A-Za-z0-9 ._-]*", "1-80 characters, no reserved characters"
    ),
    "Azure DevOps variable group": NameRule(1, 80, r"[A-Za-z0-9][A-Za-z0-9 ._-]*", "1-80 characters"),
    "virtual network": NameRule(
        2,
        64,
        r"[A-Za-z0-9][\w.-]*\w",
        "2-64 letters, digits, '_', '.', '-'; starts alphanumeric, ends with '_' or alphanumeric",
    ),
    "subnet": NameRule(
        1,
        80,
        r"[A-Za-z0-9]([\w.-]*\w)?",
        "1-80 letters, digits, '_', '.', '-'; starts alphanumeric, ends with '_' or alphanumeric",
    ),
    "network security group": NameRule(
        1,
        80,
        r"[A-Za-z0-9]([\w.-]*\w)?",
        "1-80 letters, digits, '_', '.', '-'; starts alphanumeric, ends with '_' or alphanumeric",
    ),
    "private endpoint": NameRule(
        2,
        64,
        r"[A-Za-z0-9][\w.-]*\w",
        "2-64 letters, digits, '_', '.', '-'; starts alphanumeric, ends with '_' or alphanumeric",
    ),
    "NAT gateway": NameRule(
        1,
        80,
        r"[A-Za-z0-9]([\w.-]*\w)?",
        "1-80 letters, digits, '_', '.', '-'; starts alphanumeric, ends with '_' or alphanumeric",
    ),
    "public IP address": NameRule(
        1,
        80,
        r"[A-Za-z0-9]([\w.-]*\w)?",
        "1-80 letters, digits, '_', '.', '-'; starts alphanumeric, ends with '_' or alphanumeric",
    ),
    "data collection endpoint": NameRule(
        3, 44, r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", "3-44 letters, digits, '-'; starts and ends alphanumeric"
    ),
    "Azure Monitor private link scope": NameRule(
        1, 64, r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", "1-64 letters, digits, '-'; starts and ends alphanumeric"
    ),
    "Defender for DevOps connector": NameRule(
        1, 260, r"[A-Za-z0-9][A-Za-z0-9_-]*", "1-260 letters, digits, '-', '_'; starts alphanumeric"
    ),
}


def checked(kind: str, name: str) -> str:
    return RULES[kind].check(kind, name)


@dataclass(frozen=True)
class EstateNames:
    """Every shared name of one stack. Per-service names come from `ServiceNames`."""

    prefix: str
    environment: str

    def __post_init__(self) -> None:
        self.all()

    @property
    def _stem(self) -> str:
        return f"{self.prefix}-{self.environment}"

    @property
    def resource_group(self) -> str:
        return checked("resource group", f"rg-{self._stem}")

    @property
    def log_analytics_workspace(self) -> str:
        return checked("Log Analytics workspace", f"log-{self._stem}")

    @property
    def application_insights(self) -> str:
        return checked("Application Insights component", f"appi-{self._stem}")

    @property
    def key_vault(self) -> str:
        return checked("Key Vault", f"kv-{self._stem}")

    def registry(self, role: RegistryRole) -> str:
        return checked("container registry", f"cr{self.prefix}{self.environment}{role}")

    def cluster(self, stage: Stage) -> str:
        return checked("AKS cluster", f"aks-{self._stem}-{stage}")

    def cluster_dns_prefix(self, stage: Stage) -> str:
        return checked("AKS DNS prefix", f"{self._stem}-{stage}")

    def node_resource_group(self, stage: Stage) -> str:
        return checked("resource group", f"rg-{self._stem}-{stage}-nodes")

    def container_insights_rule(self, stage: Stage) -> str:
        return checked("data collection rule", f"dcr-{self._stem}-{stage}-containerinsights")

    @property
    def virtual_network(self) -> str:
        return checked("virtual network", f"vnet-{self._stem}")

    def subnet(self, role: SubnetRole) -> str:
        return checked("subnet", f"snet-{role}")

    def network_security_group(self, role: SubnetRole) -> str:
        return checked("network security group", f"nsg-{self._stem}-{role}")

    def nat_gateway(self, role: str) -> str:
        return checked("NAT gateway", f"ng-{self._stem}-{role}")

    def public_ip(self, role: str) -> str:
        return checked("public IP address", f"pip-{self._stem}-{role}")

    @property
    def data_collection_endpoint(self) -> str:
        return checked("data collection endpoint", f"dce-{self._stem}")

    @property
    def monitor_private_link_scope(self) -> str:
        return checked("Azure Monitor private link scope", f"ampls-{self._stem}")

    def private_endpoint(self, target: str) -> str:
        return checked("private endpoint", f"pe-{self._stem}-{target}")

    @property
    def pipelines_identity(self) -> str:
        return checked("user-assigned identity", f"id-{self._stem}-pipelines")

    @property
    def production_identity(self) -> str:
        """Promotion and production deployment only: no step that runs repository code signs in as it."""
        return checked("user-assigned identity", f"id-{self._stem}-release")

    def telemetry_identity(self, stage: Stage, service: str) -> str:
        return checked("user-assigned identity", f"id-{self._stem}-{stage}-{service}")

    @property
    def azure_service_connection(self) -> str:
        return checked("Azure DevOps service connection", f"{self._stem}-azure")

    @property
    def registry_service_connection(self) -> str:
        return checked("Azure DevOps service connection", f"{self._stem}-registry")

    @property
    def production_service_connection(self) -> str:
        return checked("Azure DevOps service connection", f"{self._stem}-azure-production")

    def federated_credential(self, connection: str) -> str:
        return checked("federated identity credential", f"ado-{connection}")

    def all(self) -> dict[str, str]:
        """Every name, keyed by what it names; computing it checks each one."""
        names = {
            "resourceGroup": self.resource_group,
            "logAnalyticsWorkspace": self.log_analytics_workspace,
            "applicationInsights": self.application_insights,
            "keyVault": self.key_vault,
            "pipelinesIdentity": self.pipelines_identity,
            "productionIdentity": self.production_identity,
            "azureServiceConnection": self.azure_service_connection,
            "productionServiceConnection": self.production_service_connection,
            "registryServiceConnection": self.registry_service_connection,
            "virtualNetwork": self.virtual_network,
            "dataCollectionEndpoint": self.data_collection_endpoint,
            "monitorPrivateLinkScope": self.monitor_private_link_scope,
            "natGateway.agents": self.nat_gateway("agents"),
            "publicIp.agentsEgress": self.public_ip("agents-egress"),
        }
        for subnet in SUBNET_ROLES:
            names[f"subnet.{subnet}"] = self.subnet(subnet)
            names[f"networkSecurityGroup.{subnet}"] = self.network_security_group(subnet)
        for role in ("nonprod", "prod"):
            names[f"registry.{role}"] = self.registry(role)
        for stage in ("staging", "production"):
            names[f"cluster.{stage}"] = self.cluster(stage)
            names[f"clusterDnsPrefix.{stage}"] = self.cluster_dns_prefix(stage)
            names[f"nodeResourceGroup.{stage}"] = self.node_resource_group(stage)
            names[f"containerInsightsRule.{stage}"] = self.container_insights_rule(stage)
        for connection in (
            self.azure_service_connection,
            self.registry_service_connection,
            self.production_service_connection,
        ):
            names[f"federatedCredential.{connection}"] = self.federated_credential(connection)
        return names


@dataclass(frozen=True)
class ServiceNames:
    service: str

    def __post_init__(self) -> None:
        self.all()

    @property
    def namespace(self) -> str:
        return checked("Kubernetes namespace", self.service)

    @property
    def repository(self) -> str:
        return checked("Azure DevOps repository", self.service)

    def pipeline(self, kind: Literal["pr", "ci", "cd"]) -> str:
        return checked("Azure DevOps pipeline", f"{self.service}-{kind}")

    def all(self) -> dict[str, str]:
        return {
            "namespace": self.namespace,
            "repository": self.repository,
            **{f"pipeline.{kind}": self.pipeline(kind) for kind in ("pr", "ci", "cd")},
        }


def defender_devops_connector(organization: str) -> str:
    """One connector per Azure DevOps organisation, named after it rather than after a stack."""
    return checked("Defender for DevOps connector", f"{organization}-azure-devops")


# The credential on each service's telemetry identity that trusts its Kubernetes service account.
TELEMETRY_CREDENTIAL = checked("federated identity credential", "kubernetes-service-account")
# The two repositories the stack keeps in the project beside the services': the pipeline templates every service
# pipeline extends, and the starter every new service repository is forked from. No service may take their names.
TEMPLATES_REPOSITORY = checked("Azure DevOps repository", "pipeline-templates")
STARTER_REPOSITORY = checked("Azure DevOps repository", "service-starter")
PLATFORM_REPOSITORIES = (TEMPLATES_REPOSITORY, STARTER_REPOSITORY)

NODE_POOLS = {"system": checked("AKS node pool", "system"), "user": checked("AKS node pool", "user")}
