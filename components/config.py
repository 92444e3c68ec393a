"""The stack's typed configuration: one frozen model, validated once, before any resource exists.

Every rule and every error message about configuration lives here. The program reads the raw `aks-estate:*` keys
exactly as the Pulumi language host hands them over (the `PULUMI_CONFIG` environment variable), so the offline
preview and a real `pulumi up` go through the same code path.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from uuid import UUID

import pulumi.runtime
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components import naming

NAMESPACE = "aks-estate"
SECRET_PLACEHOLDER = "[secret]"


class ConfigError(ValueError):
    """Invalid stack configuration; the message names each key, its value and the rule it breaks."""


Violation = tuple[str, Any, str]


def _refuse(violations: list[Violation]) -> None:
    """Report rules that span fields with each offending key (relative to the model) and its value."""
    if violations:
        raise PydanticCustomError(
            "estate_rule", "; ".join(f"{key}: {rule}" for key, _, rule in violations), {"violations": violations}
        )


def _ip_range(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 address or CIDR range with no host bits set ({exc})") from None
    if network.version != 4:
        raise ValueError("must be an IPv4 range: Key Vault and AKS authorized ranges accept IPv4 only")
    if network.is_private or network.is_loopback:
        raise ValueError("must be a public range: Azure firewalls only ever see public source addresses")
    return str(network)


PublicIpRange = Annotated[str, AfterValidator(_ip_range)]


def _worded(pattern: str, rule: str) -> AfterValidator:
    """A pattern check whose message states the rule in words: a newcomer should not have to read a regex."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(rule)
        return value

    return AfterValidator(check)


# Kubernetes reserves the `kube-` prefix for its own namespaces (kubernetes.io, "Namespaces": "Avoid creating namespaces
# with the prefix kube-"); `default` is where unqualified objects land. The others belong to AKS and its add-ons
# (Microsoft Learn): app-routing-system (application routing add-on, aks/app-routing), gatekeeper-system (Azure Policy
# add-on, governance/policy/concepts/policy-for-kubernetes), calico-system, calico-apiserver and tigera-operator (Calico
# network policy, aks/use-network-policies), aks-istio-* (Istio add-on, aks/istio-about), azure-arc (Arc-enabled
# clusters), aks-command (`az aks command invoke` pods), flux-system (GitOps extension), dapr-system (Dapr extension).
RESERVED_NAMESPACES = frozenset(
    {
        "default",
        "gatekeeper-system",
        "app-routing-system",
        "calico-system",
        "calico-apiserver",
        "tigera-operator",
        "aks-istio-system",
        "aks-istio-ingress",
        "aks-istio-egress",
        "azure-arc",
        "azure-arc-release",
        "aks-command",
        "flux-system",
        "dapr-system",
    }
)


def _not_a_system_namespace(value: str) -> str:
    if value.startswith("kube-") or value in RESERVED_NAMESPACES:
        raise ValueError(
            "is a namespace Kubernetes or AKS owns (the service's namespace would be shared with, or taken from, "
            "the cluster's own components): choose another name"
        )
    return value


def _quoted_version(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(
            'must be quoted in the stack file, e.g. kubernetesVersion: "1.30": unquoted, YAML reads a version as a '
            "number and drops its trailing zero"
        )
    return value


VmSize = Annotated[
    str,
    _worded(r"^Standard_[A-Za-z0-9_]{2,40}$", "must be an Azure VM size name such as Standard_D4s_v5"),
]
Zone = Literal["1", "2", "3"]
Email = Annotated[
    str,
    StringConstraints(max_length=254),
    _worded(
        r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
        "must be an e-mail address (name@domain.tld), the approver's Azure DevOps user name",
    ),
]
ServiceName = Annotated[
    str,
    StringConstraints(min_length=2, max_length=naming.SERVICE_NAME_MAX),
    _worded(
        naming.SERVICE_NAME_PATTERN,
        "must be lowercase letters, digits and single hyphens, start with a letter and end with a letter or digit "
        "(it names a repository and a Kubernetes namespace)",
    ),
    AfterValidator(_not_a_system_namespace),
]
SecretName = Annotated[
    str,
    _worded(
        r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$",
        "must be 2-64 lowercase letters, digits and hyphens, start with a letter and end with a letter or digit "
        "(a Key Vault secret name that is also a pipeline variable name)",
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        regex_engine="python-re",
    )


class NodePool(_Model):
    vm_size: VmSize
    min_count: int = Field(ge=0, le=1000)
    max_count: int = Field(ge=1, le=1000)
    zones: tuple[Zone, ...] = ()
    # Azure accepts 30; checkov CKV_AZURE_168 (and the policy pack) want at least 50 so nodes are not starved of pods.
    max_pods: int = Field(default=110, ge=50, le=250)
    os_disk_size_gb: int = Field(default=128, ge=30, le=2048)

    @model_validator(mode="after")
    def _counts(self) -> Self:
        violations: list[Violation] = []
        if self.min_count > self.max_count:
            violations.append(("minCount", self.min_count, f"must not exceed maxCount ({self.max_count})"))
        if len(set(self.zones)) != len(self.zones):
            violations.append(("zones", list(self.zones), "must not repeat a zone"))
        _refuse(violations)
        return self


class Cluster(_Model):
    kubernetes_version: Annotated[
        str,
        BeforeValidator(_quoted_version),
        _worded(r"^1\.(2[89]|3[0-9])$", 'must be a Kubernetes minor version from "1.28" to "1.39", without a patch'),
    ] = Field(description="Minor version; the auto-upgrade channel keeps patches current.")
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


class Clusters(_Model):
    staging: Cluster
    production: Cluster


class Registry(_Model):
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


class Registries(_Model):
    non_production: Registry
    production: Registry


class Service(_Model):
    name: ServiceName
    port: int = Field(default=8080, ge=1024, le=65535)
    replicas: int = Field(default=2, ge=1, le=50)
    max_replicas: int = Field(default=5, ge=1, le=100)
    existing_code: bool = Field(default=False, description="The repository already has application code.")

    @model_validator(mode="after")
    def _replicas(self) -> Self:
        if self.replicas > self.max_replicas:
            _refuse([("replicas", self.replicas, f"must not exceed maxReplicas ({self.max_replicas})")])
        return self


_DEV_POOL = {"vmSize": "Standard_D2s_v5", "minCount": 1, "maxCount": 3}
_PROD_SYSTEM_POOL = {"vmSize": "Standard_D4s_v5", "minCount": 3, "maxCount": 5, "zones": ["1", "2", "3"]}
_PROD_USER_POOL = {"vmSize": "Standard_D4s_v5", "minCount": 3, "maxCount": 10, "zones": ["1", "2", "3"]}
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
        "keyVaultPurgeProtection": False,
        # Microsoft-hosted agents have no fixed addresses; a dev estate may open the vault rather than pay for a pool.
        "keyVaultNetworkDefaultAction": "Allow",
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
            "nonProduction": {"sku": "Standard"},
            "production": {"sku": "Premium", "zoneRedundancy": True, "untaggedRetentionDays": 30},
        },
        "defenderPlans": True,
        "defenderDevOpsConnector": True,
        "keyVaultPurgeProtection": True,
        "minimumReviewers": 2,
    },
}


class EstateConfig(_Model):
    environment: Literal["dev", "prod"]
    name_prefix: Annotated[
        str,
        _worded(
            naming.PREFIX_PATTERN,
            "must be 2-10 lowercase letters and digits, starting with a letter (it goes into globally unique Azure "
            "names that allow no hyphens)",
        ),
    ]
    location: Annotated[
        str,
        _worded(
            r"^[a-z][a-z0-9]{2,29}$",
            "must be an Azure region's programmatic name, lowercase with no spaces (westeurope, not West Europe)",
        ),
    ]
    admin_group_object_ids: tuple[UUID, ...] = Field(min_length=1)
    clusters: Clusters
    registries: Registries
    services: tuple[Service, ...] = Field(default=(Service(name="app"),), min_length=1, max_length=200)
    log_retention_days: int = Field(default=30, ge=30, le=730)
    log_daily_cap_gb: int = Field(default=-1, ge=-1, le=10000, description="-1 means no cap")
    key_vault_purge_protection: bool = True
    key_vault_soft_delete_retention_days: int = Field(default=90, ge=7, le=90)
    key_vault_allowed_ip_ranges: tuple[PublicIpRange, ...] = ()
    # "Allow" lets Microsoft-hosted agents (no fixed addresses) read the vault; a prod stack refuses it.
    key_vault_network_default_action: Literal["Deny", "Allow"] = "Deny"
    agent_pool: (
        Annotated[
            str,
            _worded(
                r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$",
                "must be an agent pool name: 1-64 letters, digits, spaces, '.', '_' or '-', starting with a letter "
                "or digit",
            ),
        ]
        | None
    ) = None
    defender_plans: bool = Field(
        default=False,
        description="Defender for Cloud plans are per subscription: one stack per subscription should own them.",
    )
    # Organisation-wide like the plans are subscription-wide: one stack per organisation should own the connector.
    defender_devops_connector: bool = Field(default=False, alias="defenderDevOpsConnector")
    devops_organization: Annotated[
        str,
        _worded(
            r"^[A-Za-z0-9][A-Za-z0-9-]{0,48}[A-Za-z0-9]$",
            "must be an Azure DevOps organisation name (the part after dev.azure.com/): 2-50 letters, digits and "
            "hyphens, starting and ending with a letter or digit",
        ),
    ]
    devops_project: Annotated[
        str,
        _worded(
            r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}[A-Za-z0-9]$",
            "must be an Azure DevOps project name: 2-64 letters, digits, spaces, '.', '_' or '-', starting and "
            "ending with a letter or digit",
        ),
    ]
    production_approvers: tuple[Email, ...] = Field(min_length=1)
    minimum_reviewers: int = Field(default=1, ge=1, le=10)
    approval_timeout_minutes: int = Field(default=1440, ge=5, le=43200)
    ci_secrets: dict[SecretName, SecretStr] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _profile_defaults(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        profile = PROFILE_DEFAULTS.get(str(values.get("environment")), {})
        return {**profile, **values}

    @model_validator(mode="after")
    def _unique_services(self) -> Self:
        seen: set[str] = set()
        violations: list[Violation] = []
        for index, service in enumerate(self.services):
            if service.name in seen:
                violations.append((f"services[{index}].name", service.name, "must be unique among the services"))
            seen.add(service.name)
        _refuse(violations)
        return self

    @model_validator(mode="after")
    def _approvers_are_distinct(self) -> Self:
        seen: set[str] = set()
        violations: list[Violation] = []
        for index, approver in enumerate(self.production_approvers):
            # Entra ID user names are case-insensitive: two spellings are one person, looked up twice.
            if approver.casefold() in seen:
                violations.append((f"productionApprovers[{index}]", approver, "names an approver already listed"))
            seen.add(approver.casefold())
        _refuse(violations)
        return self

    @model_validator(mode="after")
    def _ci_secret_names(self) -> Self:
        _refuse(
            [
                (f"ciSecrets.{name}", name, "is a reserved secret name: the stack writes that secret itself")
                for name in self.ci_secrets
                if name in naming.RESERVED_SECRET_NAMES
            ]
        )
        return self

    @model_validator(mode="after")
    def _ci_can_reach_the_vault(self) -> Self:
        if self.key_vault_network_default_action != "Deny":
            return self
        violations: list[Violation] = []
        if self.agent_pool is None:
            violations.append(
                (
                    "agentPool",
                    None,
                    "is required while the Key Vault firewall denies by default: Microsoft-hosted agents have no "
                    "fixed addresses to allow, so CI could not read its secrets (on dev, keyVaultNetworkDefaultAction "
                    "Allow is the cheaper alternative)",
                )
            )
        if not self.key_vault_allowed_ip_ranges:
            violations.append(
                (
                    "keyVaultAllowedIpRanges",
                    [],
                    "must list the agent pool's egress ranges (and Azure DevOps' own, which read the vault when the "
                    "variable group is saved) while the firewall denies by default",
                )
            )
        _refuse(violations)
        return self

    @model_validator(mode="after")
    def _production_is_never_weakened(self) -> Self:
        if self.environment != "prod":
            return self
        # Both clusters of a prod stack: the staging cluster is where every production change is proven first.
        clusters = (("staging", self.clusters.staging), ("production", self.clusters.production))
        _refuse(
            [
                (key, value, rule)
                for key, value, broken, rule in (
                    *(
                        (
                            f"clusters.{stage}.tier",
                            cluster.tier,
                            cluster.tier == "Free",
                            "a prod stack needs the financially backed API server SLA (Standard or Premium)",
                        )
                        for stage, cluster in clusters
                    ),
                    *(
                        (
                            f"clusters.{stage}.{pool_key}.zones",
                            list(pool.zones),
                            len(pool.zones) < 2,
                            f"a prod stack spreads the {pool_key.removesuffix('Pool')} pool over at least two "
                            "availability zones",
                        )
                        for stage, cluster in clusters
                        for pool_key, pool in (("systemPool", cluster.system_pool), ("userPool", cluster.user_pool))
                    ),
                    (
                        "registries.nonProduction.sku",
                        self.registries.non_production.sku,
                        self.registries.non_production.sku == "Basic",
                        "a prod stack's registries are Standard or Premium (checkov CKV_AZURE_163: image scanning)",
                    ),
                    (
                        "clusters.production.systemPool.minCount",
                        self.clusters.production.system_pool.min_count,
                        self.clusters.production.system_pool.min_count < 2,
                        "a prod stack keeps at least two system nodes",
                    ),
                    (
                        "registries.production.sku",
                        self.registries.production.sku,
                        self.registries.production.sku != "Premium",
                        "a prod stack's production registry is Premium (zone redundancy, retention)",
                    ),
                    (
                        "registries.production.zoneRedundancy",
                        self.registries.production.zone_redundancy,
                        not self.registries.production.zone_redundancy,
                        "a prod stack's production registry is zone redundant",
                    ),
                    (
                        "registries.production.untaggedRetentionDays",
                        self.registries.production.untagged_retention_days,
                        self.registries.production.untagged_retention_days is None,
                        "a prod stack's production registry purges untagged manifests on a schedule",
                    ),
                    (
                        "keyVaultNetworkDefaultAction",
                        self.key_vault_network_default_action,
                        self.key_vault_network_default_action != "Deny",
                        "a prod stack's Key Vault firewall denies by default (CI runs on an agentPool it allows)",
                    ),
                    (
                        "keyVaultPurgeProtection",
                        self.key_vault_purge_protection,
                        not self.key_vault_purge_protection,
                        "a prod stack's Key Vault keeps purge protection on",
                    ),
                    (
                        "minimumReviewers",
                        self.minimum_reviewers,
                        self.minimum_reviewers < 2,
                        "a prod stack needs at least two reviewers on every pull request",
                    ),
                )
                if broken
            ]
        )
        return self


def _decode(value: Any) -> Any:
    """Structured config arrives JSON-encoded; scalars arrive as plain strings that pydantic coerces itself."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


_MISSING = object()


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts:
            parts.append(f".{part}")
        else:
            parts.append(part)
    return "".join(parts)


def _format(error: ValidationError, secret_keys: frozenset[str]) -> str:
    def line(loc: tuple[int | str, ...], value: Any, rule: str) -> str:
        shown = "(missing)" if value is _MISSING else json.dumps(value, default=str)
        # A map key under a secret (a secret's name) is no secret; pydantic marks its place with "[key]".
        if loc and str(loc[0]) in secret_keys and loc[-1] != "[key]":
            shown = SECRET_PLACEHOLDER
        loc = tuple(part for part in loc if part != "[key]")
        return f"{NAMESPACE}:{_location(loc)} = {shown}: {rule}"

    items = [
        (tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith(("function-", "json-")))), item)
        for item in error.errors(include_url=False)
    ]
    lines = []
    for loc, item in items:
        # pydantic also reports a list whose only item failed as too short; the item's own line says it all.
        if item["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other, _ in items
        ):
            continue
        if item["type"] == "estate_rule":
            for key, value, rule in item["ctx"]["violations"]:
                lines.append(line((*loc, key), value, rule))
        elif item["type"] == "missing":
            lines.append(line(loc, _MISSING, "is required"))
        elif item["type"] == "extra_forbidden":
            lines.append(line(loc, item["input"], "is not a setting this stack knows (README.md, Configuration)"))
        elif item["type"] == "too_short":
            lines.append(line(loc, item["input"], f"needs at least {item['ctx']['min_length']} item(s)"))
        else:
            lines.append(line(loc, item["input"], item["msg"].removeprefix("Value error, ")))
    return _refusal(lines)


def _refusal(lines: list[str]) -> str:
    return "invalid stack configuration:\n  " + "\n  ".join(lines)


ENVIRONMENTS = ("dev", "prod")


def stack_environment(stack: str) -> str | None:
    """The environment a stack's name claims: `dev` or `prod` as a whole word of it (`prod`, `alice-dev`), else None."""
    claimed = {word for word in re.split(r"[-_.]", stack.lower()) if word in ENVIRONMENTS}
    return claimed.pop() if len(claimed) == 1 else None


def _stack_rule(stack: str, environment: Any) -> str | None:
    claimed = stack_environment(stack)
    if claimed is None or environment == claimed:
        return None
    return (
        f"{NAMESPACE}:environment = {json.dumps(environment)}: must be {json.dumps(claimed)} in stack {stack!r}: a "
        f"stack whose name contains {claimed!r} as a word builds that environment (stacks named otherwise may "
        "choose either)"
    )


PAT_KEY = "azuredevops:personalAccessToken"
_PAT_RULE = (
    f"{PAT_KEY} = [not shown]: must not sit in the stack file in plain text: set it with `pulumi config set --secret "
    f"{PAT_KEY}`, or leave it out and export AZDO_PERSONAL_ACCESS_TOKEN"
)


def plaintext_secrets(document: Mapping[str, Any]) -> list[str]:
    """Secrets written in plain text into a stack file's `config:` mapping, as refusal lines.

    Per entry, from the file itself: Pulumi marks a whole object key secret when any part of it is `secure`
    (pulumi/pulumi sdk/go/common/resource/config/value.go, `Value.Secure`), so the program's secret-key list cannot
    tell one plaintext entry among secure ones.
    """
    lines: list[str] = []
    token = document.get(PAT_KEY)
    if token is not None and not _is_secure(token):
        lines.append(_PAT_RULE)
    ci_secrets = document.get(f"{NAMESPACE}:ciSecrets")
    if _is_secure(ci_secrets):
        return lines
    entries = ci_secrets.items() if isinstance(ci_secrets, dict) else [("", ci_secrets)] if ci_secrets else []
    lines.extend(
        f"{NAMESPACE}:ciSecrets{'.' + str(name) if name else ''} = [not shown]: must be set with `pulumi config set "
        f"--secret --path '{NAMESPACE}:ciSecrets.<name>' <value>`: a plaintext value would sit in the stack file"
        for name, value in entries
        if not _is_secure(value)
    )
    return lines


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def parse(raw: Mapping[str, Any], secret_keys: frozenset[str] = frozenset(), stack: str | None = None) -> EstateConfig:
    """Validate the raw `aks-estate:*` keys (without the namespace) of stack `stack`; raise ConfigError naming every
    broken rule."""
    if raw.get("ciSecrets") not in (None, "", "{}") and "ciSecrets" not in secret_keys:
        raise ConfigError(
            _refusal(
                [
                    "aks-estate:ciSecrets = [not shown]: must be set with `pulumi config set --secret --path "
                    "'aks-estate:ciSecrets.<name>' <value>`: a plaintext value would sit in the stack file"
                ]
            )
        )
    values = {key: _decode(value) for key, value in raw.items()}
    stack_line = _stack_rule(stack, values.get("environment")) if stack is not None else None
    try:
        parsed = EstateConfig.model_validate(values)
    except ValidationError as exc:
        message = _format(exc, secret_keys)
        raise ConfigError(f"{message}\n  {stack_line}" if stack_line else message) from None
    if stack_line:
        raise ConfigError(_refusal([stack_line]))
    return parsed


def from_pulumi() -> EstateConfig:
    """Read this stack's `aks-estate:*` config the way the Pulumi language host provides it."""
    every_key: dict[str, Any] = {**pulumi.runtime.get_config_env()}
    every_key.update(pulumi.runtime.config.CONFIG.get())
    prefix = f"{NAMESPACE}:"
    raw = {key.removeprefix(prefix): value for key, value in every_key.items() if key.startswith(prefix)}
    every_secret_key = pulumi.runtime.get_config_secret_keys_env()
    secret_keys = frozenset(key.removeprefix(prefix) for key in every_secret_key if key.startswith(prefix))
    check_credentials(every_key, frozenset(every_secret_key))
    check_stack_file(Path(f"Pulumi.{pulumi.get_stack()}.yaml"))
    return parse(raw, secret_keys, stack=pulumi.get_stack())


def check_credentials(every_key: Mapping[str, Any], every_secret_key: frozenset[str]) -> None:
    """Refuse a provider credential the stack file holds in plain text (the language host marks secure keys)."""
    if every_key.get(PAT_KEY) and PAT_KEY not in every_secret_key:
        raise ConfigError(_refusal([_PAT_RULE]))


def check_stack_file(path: Path) -> None:
    """Refuse plaintext entries among a stack file's secrets, per entry (see `plaintext_secrets`).

    The language host starts the program in the project directory, where `pulumi` keeps `Pulumi.<stack>.yaml` unless
    Pulumi.yaml moves it with `stackConfigDir`; the CLI has already parsed the file, so it is valid YAML.
    """
    if not path.is_file():
        return
    document = yaml.safe_load(path.read_text())
    lines = plaintext_secrets(document.get("config") or {}) if isinstance(document, dict) else []
    if lines:
        raise ConfigError(_refusal(lines))
