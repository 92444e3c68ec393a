"""The stack's typed configuration: one frozen model, validated once, before any resource exists.

Every rule and every error message about configuration lives here. The program reads the raw `aks-estate:*` keys
exactly as the Pulumi language host hands them over (the `PULUMI_CONFIG` environment variable), so the offline
preview and a real `pulumi up` go through the same code path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self
from uuid import UUID

import pulumi.runtime
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from components import naming, stack_file
from components.config_messages import NAMESPACE, decode, format_errors, refusal
from components.config_network import NETWORK_DEFAULTS, Network, Telemetry, private_network_violations
from components.config_parts import (
    PROFILE_DEFAULTS,
    Alerts,
    Budget,
    Clusters,
    ConfigModel,
    ManagedAgentPool,
    Registries,
    Service,
    Violation,
    _refuse,
    ingress_host_violations,
)
from components.config_production import production_violations
from components.config_values import (
    AgentPoolName,
    DevOpsOrganization,
    DevOpsProject,
    Email,
    Location,
    NamePrefix,
    PublicIpRange,
    SecretName,
    ServicePrincipalDescriptor,
    TemplatesRelease,
)


class ConfigError(ValueError):
    """Invalid stack configuration; the message names each key, its value and the rule it breaks."""


class EstateConfig(ConfigModel):
    environment: Literal["dev", "prod"]
    name_prefix: NamePrefix
    location: Location
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
    agent_pool: AgentPoolName | None = None
    # The public addresses the agent pool's traffic leaves from; the vault firewall must list them for CI to read.
    agent_pool_egress_ranges: tuple[PublicIpRange, ...] = ()
    # The Managed DevOps Pool the stack builds in the estate network's agent subnet; the pipelines run on it.
    managed_agent_pool: ManagedAgentPool | None = None
    defender_plans: bool = Field(
        default=False,
        description="Defender for Cloud plans are per subscription: one stack per subscription should own them.",
    )
    # Organisation-wide like the plans are subscription-wide: one stack per organisation should own the connector.
    defender_devops_connector: bool = Field(default=False, alias="defenderDevOpsConnector")
    # CI's Microsoft Security DevOps scan needs its organisation-wide extension: "install" (one stack per organisation),
    # "adopt" an installation another stack made, or "none" (CI renders no scan).
    security_scan_extension: Literal["install", "adopt", "none"] = "none"
    devops_organization: DevOpsOrganization
    devops_project: DevOpsProject
    # The bootstrap's preview-<stack> identity: a pull request's preview reads this stack's project as it, so the
    # stack makes it a member of the project's Readers (components/devops/project.py).
    iac_preview_identity: ServicePrincipalDescriptor
    production_approvers: tuple[Email, ...] = Field(min_length=1)
    minimum_reviewers: int = Field(default=1, ge=1, le=10)
    approval_timeout_minutes: int = Field(default=1440, ge=5, le=43200)
    # The pipeline templates' release: changing it moves every service pipeline to the templates as they are now.
    templates_release: TemplatesRelease = "1"
    ci_secrets: dict[SecretName, SecretStr] = Field(default_factory=dict)
    alerts: Alerts = Alerts()
    budget: Budget
    network: Network
    telemetry: Telemetry

    @property
    def alert_emails(self) -> tuple[str, ...]:
        return self.alerts.emails or self.production_approvers

    @model_validator(mode="before")
    @classmethod
    def _profile_defaults(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        environment = str(values.get("environment"))
        profile = {**PROFILE_DEFAULTS.get(environment, {}), **NETWORK_DEFAULTS.get(environment, {})}
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
    def _calls_name_services(self) -> Self:
        names = {service.name for service in self.services}
        _refuse(
            [
                (f"services[{index}].calls", callee, "is not the name of a service of this stack")
                for index, service in enumerate(self.services)
                for callee in service.calls
                if callee not in names
            ]
        )
        return self

    @model_validator(mode="after")
    def _certificates_are_readable(self) -> Self:
        # The add-on reads the certificate from the clusters' nodes (Secrets Store CSI driver), which a public vault
        # that denies by default does not admit; a private vault admits them through its private endpoint.
        if self.key_vault_network_default_action == "Deny" and not self.network.private:
            _refuse(
                [
                    (
                        f"services[{index}].{key}",
                        certificate,
                        "needs a Key Vault the clusters can reach: the vault denies by default "
                        "(keyVaultNetworkDefaultAction Deny), so the ingress could not read the certificate",
                    )
                    for index, service in enumerate(self.services)
                    for key, certificate in service.served_certificates
                ]
            )
        return self

    @model_validator(mode="after")
    def _staging_serves_nothing_of_production(self) -> Self:
        # The add-on copies a served certificate, private key included, into a Secret of the service's namespace
        # (Azure/aks-app-routing-operator pkg/controller/keyvault/spc/reconcile.go buildSpc: secretObjects `keyvault-
        # <ingress name>` of type kubernetes.io/tls), and the pipelines identity, which runs a service's own tests,
        # reads Secrets in every staging namespace (AKS RBAC Writer).
        certificates = {
            service.tls_certificate: index
            for index, service in reversed(list(enumerate(self.services)))
            if service.tls_certificate
        }
        hosts = {service.host: index for index, service in reversed(list(enumerate(self.services))) if service.host}
        violations: list[Violation] = []
        for index, service in enumerate(self.services):
            certificate = service.staging_tls_certificate
            if certificate and certificate in certificates:
                violations.append(
                    (
                        f"services[{index}].stagingTlsCertificate",
                        certificate,
                        f"is the certificate production serves (services[{certificates[certificate]}]"
                        ".tlsCertificate): staging's copy of its private key is readable by every service's tests; "
                        "give staging a certificate of its own",
                    )
                )
            if service.staging_host and service.staging_host in hosts and hosts[service.staging_host] != index:
                violations.append(
                    (
                        f"services[{index}].stagingHost",
                        service.staging_host,
                        f"is a host production serves (services[{hosts[service.staging_host]}].host): a certificate "
                        "staging served for it would be valid for production's host",
                    )
                )
        _refuse([*violations, *ingress_host_violations(self.services)])
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
    def _ci_secrets_are_not_certificates(self) -> Self:
        # A Key Vault certificate owns the secret of its name (its private key; a certificate whose name a secret
        # already holds cannot be created: learn.microsoft.com/azure/key-vault/certificates/about-certificates,
        # "Composition of a Certificate"), and CI may read each ciSecret.
        certificates = {
            certificate: key for service in self.services for key, certificate in service.served_certificates
        }
        _refuse(
            [
                (
                    f"ciSecrets.{name}",
                    name,
                    f"names a service's {certificates[name]}: that name is the certificate's private key, "
                    "which CI must not read",
                )
                for name in self.ci_secrets
                if name in certificates
            ]
        )
        return self

    @model_validator(mode="after")
    def _one_agent_pool(self) -> Self:
        if self.agent_pool is not None and self.managed_agent_pool is not None:
            _refuse(
                [
                    (
                        "agentPool",
                        self.agent_pool,
                        "names an existing organisation pool while managedAgentPool builds one: the pipelines run on "
                        "one pool, so set only one of them",
                    )
                ]
            )
        return self

    @model_validator(mode="after")
    def _iac_project_is_another(self) -> Self:
        pool = self.managed_agent_pool
        if pool is not None and pool.iac_project is not None and self.environment != naming.IAC_POOL_STACK:
            _refuse(
                [
                    (
                        "managedAgentPool.iacProject",
                        pool.iac_project,
                        f"is for the {naming.IAC_POOL_STACK} stack only: the bootstrap makes only its identities "
                        "members of the IaC project, so another stack's preview could not read it",
                    )
                ]
            )
        if pool is not None and pool.iac_project == self.devops_project:
            _refuse(
                [
                    (
                        "managedAgentPool.iacProject",
                        pool.iac_project,
                        "names the estate's own project (devopsProject): it is the bootstrap's IaC project, another "
                        "one (aks-estate-bootstrap:devopsProject)",
                    )
                ]
            )
        return self

    @model_validator(mode="after")
    def _ci_can_reach_the_vault(self) -> Self:
        # A private vault is reached through its private endpoint from the agents' subnet, and a Managed DevOps Pool
        # sits in that subnet: the path is the network's (checked by the preview's "who talks to what" table), not
        # an egress range.
        if self.key_vault_network_default_action != "Deny" or self.network.private or self.managed_agent_pool:
            return self
        violations: list[Violation] = []
        if self.agent_pool is None:
            violations.append(
                (
                    "agentPool",
                    None,
                    "is required while the Key Vault firewall denies by default (unless managedAgentPool builds the "
                    "pool inside the estate network): Microsoft-hosted agents have no fixed addresses to allow, so "
                    "CI could not read its secrets (on dev, keyVaultNetworkDefaultAction Allow is the cheaper "
                    "alternative)",
                )
            )
        if self.agent_pool is not None and not self.agent_pool_egress_ranges:
            violations.append(
                (
                    "agentPoolEgressRanges",
                    [],
                    "must list the public ranges the agent pool's traffic leaves from while the Key Vault firewall "
                    "denies by default: the preview checks that the vault admits them",
                )
            )
        if not self.key_vault_allowed_ip_ranges:
            violations.append(
                (
                    "keyVaultAllowedIpRanges",
                    [],
                    "must list the agent pool's egress ranges while the firewall denies by default: CI reads its "
                    "secrets from the agents",
                )
            )
        _refuse(violations)
        return self

    @model_validator(mode="after")
    def _private_network_rules(self) -> Self:
        if self.network.private:
            _refuse(private_network_violations(self.registries, self.clusters, self.key_vault_allowed_ip_ranges))
        return self

    @model_validator(mode="after")
    def _production_is_never_weakened(self) -> Self:
        if self.environment == "prod":
            _refuse(production_violations(self))
        return self


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


def parse(raw: Mapping[str, Any], secret_keys: frozenset[str] = frozenset(), stack: str | None = None) -> EstateConfig:
    """Validate the raw `aks-estate:*` keys (without the namespace) of stack `stack`; raise ConfigError naming every
    broken rule."""
    values = {key: decode(value) for key, value in raw.items()}
    if unmarked := stack_file.unmarked_secrets(values, secret_keys, NAMESPACE):
        raise ConfigError(refusal(unmarked))
    stack_line = _stack_rule(stack, values.get("environment")) if stack is not None else None
    try:
        parsed = EstateConfig.model_validate(values)
    except ValidationError as exc:
        message = format_errors(exc, secret_keys)
        raise ConfigError(f"{message}\n  {stack_line}" if stack_line else message) from None
    if stack_line:
        raise ConfigError(refusal([stack_line]))
    return parsed


def from_pulumi() -> EstateConfig:
    """Read this stack's config the way the Pulumi language host provides it, in the namespace of the project that
    runs it: Pulumi.yaml declares its keys project-relative, so `pulumi new --name X` reads `X:*`."""
    every_key: dict[str, Any] = {**pulumi.runtime.get_config_env()}
    every_key.update(pulumi.runtime.config.CONFIG.get())
    namespace = pulumi.get_project()
    prefix = f"{namespace}:"
    raw = {key.removeprefix(prefix): value for key, value in every_key.items() if key.startswith(prefix)}
    every_secret_key = pulumi.runtime.get_config_secret_keys_env()
    secret_keys = frozenset(key.removeprefix(prefix) for key in every_secret_key if key.startswith(prefix))
    # The language host starts the program in the project directory, where the stack file is (unless Pulumi.yaml
    # moves it with `stackConfigDir`).
    refused = [
        *stack_file.plaintext_token(every_key, frozenset(every_secret_key)),
        *stack_file.plaintext_in_file(Path(f"Pulumi.{pulumi.get_stack()}.yaml"), namespace),
    ]
    if refused:
        raise ConfigError(refusal(refused))
    return parse(raw, secret_keys, stack=pulumi.get_stack())
