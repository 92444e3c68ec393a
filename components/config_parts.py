"""The parts of the stack config: the nested models (clusters, registries, services, alerts, budget) and the one way
a rule that spans fields is refused, naming each key. `components/config.py` assembles them into the estate's config."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components.config_hardening import ephemeral_os_disk_violations
from components.config_values import (
    DevOpsProject,
    Email,
    GitUrl,
    HostName,
    KubernetesMinor,
    PublicIpRange,
    SecretName,
    ServiceName,
    VmSize,
    WebhookUrl,
    Zone,
)

Violation = tuple[str, Any, str]
# The staging host of a service without stagingHost is `<name>.staging.internal` (pipelines/platform/manifests/
# render.py UNPAIRED_STAGING_DOMAIN, which a test holds equal).
UNPAIRED_STAGING_DOMAIN = "staging.internal"


def _refuse(violations: list[Violation]) -> None:
    """Report rules that span fields with each offending key (relative to the model) and its value."""
    if violations:
        raise PydanticCustomError(
            "estate_rule", "; ".join(f"{key}: {rule}" for key, _, rule in violations), {"violations": violations}
        )


class ConfigModel(BaseModel):
    """Frozen, closed to unknown keys, camelCase on the wire: every model of a stack's config."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        regex_engine="python-re",
    )


class NodePool(ConfigModel):
    vm_size: VmSize
    min_count: int = Field(ge=0, le=1000)
    max_count: int = Field(ge=1, le=1000)
    zones: tuple[Zone, ...] = ()
    # Azure accepts 30; checkov CKV_AZURE_168 (and the policy pack) want at least 50 so nodes are not starved of pods.
    max_pods: int = Field(default=110, ge=50, le=250)
    os_disk_size_gb: int = Field(default=128, ge=30, le=2048)
    # Ephemeral: the OS disk on the VM's local storage (components/config_hardening.py checks that it fits).
    os_disk_type: Literal["Managed", "Ephemeral"] = "Managed"
    # Needs the subscription's Microsoft.Compute/EncryptionAtHost feature (README, "Manual steps").
    encryption_at_host: bool = False

    @model_validator(mode="after")
    def _counts(self) -> Self:
        violations: list[Violation] = (
            ephemeral_os_disk_violations(self.vm_size, self.os_disk_size_gb) if self.os_disk_type == "Ephemeral" else []
        )
        if self.min_count > self.max_count:
            violations.append(("minCount", self.min_count, f"must not exceed maxCount ({self.max_count})"))
        if len(set(self.zones)) != len(self.zones):
            violations.append(("zones", list(self.zones), "must not repeat a zone"))
        _refuse(violations)
        return self


class Cluster(ConfigModel):
    kubernetes_version: KubernetesMinor = Field(
        description="Minor version; the auto-upgrade channel keeps patches current."
    )
    tier: Literal["Free", "Standard", "Premium"]
    system_pool: NodePool
    user_pool: NodePool
    # "patch" keeps the minor version where config says; "stable"/"rapid" let AKS move it, after which the stack
    # stops sending kubernetesVersion (a PUT with the older minor would be a refused downgrade).
    upgrade_channel: Literal["patch", "stable", "rapid"] = "patch"
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch"] = "NodeImage"
    api_server_authorized_ip_ranges: tuple[PublicIpRange, ...] = ()

    @model_validator(mode="after")
    def _system_pool_can_host_system_pods(self) -> Self:
        if self.system_pool.min_count < 1:
            _refuse([("systemPool.minCount", 0, "must be at least 1: AKS needs a node for its system pods")])
        return self


class Clusters(ConfigModel):
    staging: Cluster
    production: Cluster


class Registry(ConfigModel):
    sku: Literal["Basic", "Standard", "Premium"]
    zone_redundancy: bool = False
    untagged_retention_days: int | None = Field(default=None, ge=0, le=365)

    @model_validator(mode="after")
    def _premium_features(self) -> Self:
        if self.sku == "Premium":
            return self
        rule = f"needs sku Premium (sku is {self.sku!r}): Azure Container Registry offers it on Premium only"
        violations: list[Violation] = []
        if self.zone_redundancy:
            violations.append(("zoneRedundancy", True, rule))
        if self.untagged_retention_days is not None:
            violations.append(("untaggedRetentionDays", self.untagged_retention_days, rule))
        _refuse(violations)
        return self


class Registries(ConfigModel):
    non_production: Registry
    production: Registry


class Service(ConfigModel):
    name: ServiceName
    port: int = Field(default=8080, ge=1024, le=65535)
    replicas: int = Field(default=2, ge=1, le=50)
    max_replicas: int = Field(default=5, ge=1, le=100)
    # Deprecated: the team brings its code by itself (an empty repository with the stack's files); `importFrom`
    # brings it in.
    existing_code: bool = Field(default=False, description="Deprecated; use importFrom.")
    # How CI builds and tests the service: Python on the agent, or the Dockerfile's own stages (any language).
    build: Literal["python", "container"] = "python"
    # An existing Git repository to initialize the service's repository from, instead of the starter service.
    import_from: GitUrl | None = None
    # The ID of a Git (Other Git) service connection in the project that can read a private `importFrom`.
    import_service_connection_id: UUID | None = None
    # Traffic in through the AKS application routing add-on; unset keeps the service reachable only in-cluster.
    expose: Literal["public", "internal"] | None = None
    # What production serves: its host name, and a certificate in the stack's Key Vault served for it.
    host: HostName | None = None
    tls_certificate: SecretName | None = None
    # What staging serves, never production's pair: the add-on copies a served certificate with its private key into
    # the service's namespace, which in staging the pipelines identity (a service's own tests) may read. Unset, the
    # staging ingress is internal only, for <name>.staging.internal over plain HTTP (acceptance tests port-forward).
    staging_host: HostName | None = None
    staging_tls_certificate: SecretName | None = None
    # The services this one calls; each call opens exactly that path.
    calls: tuple[ServiceName, ...] = ()

    @property
    def served_certificates(self) -> list[tuple[str, str]]:
        """(config key, certificate name) of each certificate an ingress serves: production's, then staging's."""
        keys = (("tlsCertificate", self.tls_certificate), ("stagingTlsCertificate", self.staging_tls_certificate))
        return [(key, name) for key, name in keys if name]

    @model_validator(mode="after")
    def _replicas(self) -> Self:
        if self.replicas > self.max_replicas:
            _refuse([("replicas", self.replicas, f"must not exceed maxReplicas ({self.max_replicas})")])
        return self

    @model_validator(mode="after")
    def _ingress(self) -> Self:
        violations: list[Violation] = []
        if self.import_service_connection_id is not None and self.import_from is None:
            violations.append(("importServiceConnectionId", str(self.import_service_connection_id), "needs importFrom"))
        if self.existing_code and self.import_from is not None:
            violations.append(("existingCode", True, "is deprecated and cannot be combined with importFrom"))
        if self.expose is None and self.host is not None:
            violations.append(("host", self.host, "needs expose (public or internal): only an exposed service has one"))
        if self.tls_certificate is not None and self.host is None:
            violations.append(("tlsCertificate", self.tls_certificate, "needs host: the certificate is served for it"))
        violations.extend(self._staging_ingress())
        if len(set(self.calls)) != len(self.calls):
            violations.append(("calls", list(self.calls), "must not name a service twice"))
        if self.name in self.calls:
            violations.append(("calls", list(self.calls), "must not name the service itself"))
        _refuse(violations)
        return self

    def _staging_ingress(self) -> list[Violation]:
        violations: list[Violation] = []
        if self.expose is None and self.staging_host is not None:
            violations.append(
                ("stagingHost", self.staging_host, "needs expose (public or internal): only an exposed service has one")
            )
        if self.staging_tls_certificate is not None and self.staging_host is None:
            violations.append(
                (
                    "stagingTlsCertificate",
                    self.staging_tls_certificate,
                    "needs stagingHost: the certificate is served for it",
                )
            )
        if self.staging_host is not None and self.staging_host.endswith(f".{UNPAIRED_STAGING_DOMAIN}"):
            violations.append(
                (
                    "stagingHost",
                    self.staging_host,
                    f"must not end in .{UNPAIRED_STAGING_DOMAIN}: staging names a service without stagingHost "
                    f"<name>.{UNPAIRED_STAGING_DOMAIN} on the internal controller",
                )
            )
        if self.staging_host is not None and self.staging_host == self.host:
            violations.append(
                (
                    "stagingHost",
                    self.staging_host,
                    "must differ from host: both clusters cannot answer for one name, and a certificate staging "
                    "served for it would be valid for production's host",
                )
            )
        return violations


def ingress_host_violations(services: Sequence[Service]) -> list[Violation]:
    """Two Ingresses of one class and cluster must not claim one host: ingress-nginx keeps the oldest Ingress's
    location for a host and path and routes every later one's requests to it (kubernetes/ingress-nginx internal/
    ingress/controller/store/store.go sortIngressSlice, controller.go getBackendServers), and the add-on runs it
    without the admission webhook that would refuse the second, so nothing fails. A missing production host is the
    catch-all host; a missing stagingHost gets `<name>.staging.internal` (pipelines/platform/manifests/render.py)."""
    violations: list[Violation] = []
    # A named host is one name on every controller; the catch-all (no host) is one per class.
    claims: dict[tuple[str, str, str | None], int] = {}
    for index, service in enumerate(services):
        if service.expose is None:
            continue
        for key, host in (("host", service.host), ("stagingHost", service.staging_host)):
            if key == "stagingHost" and host is None:
                continue
            claim = (key, host or "", None if host else service.expose)
            if claim not in claims:
                claims[claim] = index
                continue
            other = f"services[{claims[claim]}].{key}"
            rule = (
                f"is {other} too: two services' Ingresses claiming one host route every request to the older"
                if host
                else f"is needed: {other} is missing too and both are exposed {service.expose}, so both Ingresses "
                "would claim every host and route every request to the older"
            )
            violations.append((f"services[{index}].{key}", host, rule))
    return violations


# --- Agents (issue 11): the Managed DevOps Pool the stack builds in the estate network ----------------------------
# How to find the tenant's DevOpsInfrastructure service principal (configure-networking.md): no provider of this
# program reads Microsoft Graph, so its object ID is config.
DEVOPS_INFRASTRUCTURE_LOOKUP = "az ad sp list --display-name DevOpsInfrastructure --query '[].id' --output tsv"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _object_id(value: str) -> str:
    if not _UUID.fullmatch(value):
        raise ValueError(
            "must be the object ID (a GUID) of this tenant's DevOpsInfrastructure service principal, which joins the "
            f"pool's agents to the agent subnet; print it with `{DEVOPS_INFRASTRUCTURE_LOOKUP}`"
        )
    return value.lower()


class ManagedAgentPool(ConfigModel):
    # The most agents running at once (the pool's maximumConcurrency; REST API range 1-10000). Each is a VM of
    # vmSize: Managed DevOps Pools quota is per VM family (docs/managed-devops-pools/prerequisites.md).
    maximum_concurrency: int = Field(ge=1, le=10000)
    vm_size: VmSize = "Standard_D2ads_v5"
    # An Azure Pipelines image by its predefined alias (components/devops_pool.py WELL_KNOWN_IMAGES).
    image: Literal["ubuntu-24.04", "ubuntu-22.04"] = "ubuntu-24.04"
    devops_infrastructure_object_id: Annotated[str, AfterValidator(_object_id)]
    # The bootstrap's IaC project (aks-estate-bootstrap:devopsProject): its pipelines (pipelines/infra) run on this
    # pool too. Set on the one stack whose pool serves them (prod), which must come up once before they run.
    iac_project: DevOpsProject | None = None


# --- Alerts and budget (issue 13): who is told when something breaks, and the bound on the bill ---------------------
class Alerts(ConfigModel):
    # Empty means the production approvers: the people already answerable for production.
    emails: tuple[Email, ...] = ()
    webhook_url: WebhookUrl | None = None
    # The staging cluster's node and pod alerts; a dev stack leaves them off (quieter), a prod stack watches both.
    staging_cluster: bool = True
    node_cpu_percent: int = Field(default=80, ge=1, le=100)
    node_memory_percent: int = Field(default=80, ge=1, le=100)
    node_disk_percent: int = Field(default=80, ge=1, le=100)
    pending_pods: int = Field(default=0, ge=0, le=10000, description="alert above this many pods pending")
    container_restarts: int = Field(default=3, ge=0, le=1000, description="restarts of one container in 15 minutes")
    failed_requests: int = Field(default=10, ge=1, le=100000, description="failed requests of one service in 5 minutes")
    response_time_ms: int = Field(
        default=2000, ge=10, le=600000, description="average response time of one service in 5 minutes"
    )
    exceptions: int = Field(default=10, ge=1, le=100000, description="exceptions of one service in 5 minutes")
    vault_availability_percent: float = Field(default=99.9, gt=0, le=100)


class Budget(ConfigModel):
    # In the billing account's currency, per calendar month.
    amount: int = Field(gt=0, le=10_000_000)
    # Azure wants the first of a month, no earlier than the current one when the budget is created; unset, the
    # program uses the current month and the budget keeps it (components/alerts.py ignores later changes).
    start_date: date | None = None

    @model_validator(mode="after")
    def _first_of_a_month(self) -> Self:
        if self.start_date is not None and self.start_date.day != 1:
            _refuse([("startDate", str(self.start_date), "must be the first day of a month (Azure budgets start so)")])
        return self


_DEV_POOL = {"vmSize": "Standard_D2s_v5", "minCount": 1, "maxCount": 3}
# Sizes with a temporary disk that holds the 128 GiB OS disk ephemerally, with encryption at host.
_HARDENED = {"osDiskType": "Ephemeral", "encryptionAtHost": True}
_PROD_ZONES = ["1", "2", "3"]
_PROD_SYSTEM_POOL = {"vmSize": "Standard_D4ds_v5", "minCount": 3, "maxCount": 5, "zones": _PROD_ZONES, **_HARDENED}
_PROD_USER_POOL = {"vmSize": "Standard_D4ds_v5", "minCount": 3, "maxCount": 10, "zones": _PROD_ZONES, **_HARDENED}
# What a stack gets when it leaves the structured keys out (as `pulumi new` does): the cheapest safe estate for dev,
# settings that pass every prod rule for prod.
PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "clusters": {
            stage: {"kubernetesVersion": "1.35", "tier": "Free", "systemPool": _DEV_POOL, "userPool": _DEV_POOL}
            for stage in ("staging", "production")
        },
        "registries": {"nonProduction": {"sku": "Basic"}, "production": {"sku": "Standard"}},
        "defenderPlans": False,
        "securityScanExtension": "none",
        "keyVaultPurgeProtection": False,
        # Microsoft-hosted agents have no fixed addresses; a dev estate may open the vault rather than pay for a pool.
        "keyVaultNetworkDefaultAction": "Allow",
        "alerts": {"stagingCluster": False},
        "budget": {"amount": 1000},
    },
    "prod": {
        "clusters": {
            stage: {
                "kubernetesVersion": "1.35",
                "tier": "Standard",
                "systemPool": _PROD_SYSTEM_POOL,
                "userPool": _PROD_USER_POOL,
            }
            for stage in ("staging", "production")
        },
        "registries": {
            # Premium: a prod stack's registries are private, and private endpoints are a Premium feature.
            "nonProduction": {"sku": "Premium", "untaggedRetentionDays": 30},
            "production": {"sku": "Premium", "zoneRedundancy": True, "untaggedRetentionDays": 30},
        },
        "defenderPlans": True,
        "defenderDevOpsConnector": True,
        "securityScanExtension": "install",
        "keyVaultPurgeProtection": True,
        "minimumReviewers": 2,
        "budget": {"amount": 20000},
    },
}
