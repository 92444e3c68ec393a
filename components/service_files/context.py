"""The per-stack names the pipelines use, all known before `pulumi up`, and the names derived from them."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from components.naming import APPINSIGHTS_SECRET, ServiceNames
from components.service_files.spec import ServiceSpec

_SECRET_NAME = re.compile(r"^[A-Za-z][0-9A-Za-z-]{0,126}$")
# Environment variables that libraries read under a fixed name; every other secret becomes its UPPER_SNAKE form.
_SECRET_ENV_OVERRIDES = {APPINSIGHTS_SECRET: "APPLICATIONINSIGHTS_CONNECTION_STRING"}


@dataclass(frozen=True)
class PipelineContext:
    """Per-stack names the pipelines use, all plain strings known before `pulumi up`."""

    # The Azure DevOps project the pipelines run in; repository resources name the templates repository through it.
    project: str
    # CI and staging, as the pipelines identity: the steps that run the service's own code use it.
    azure_service_connection: str
    registry_service_connection: str
    # Promotion and production, as the release identity: no step that runs the service's code may name it.
    production_service_connection: str
    resource_group: str
    nonprod_registry_name: str
    nonprod_registry_login_server: str
    prod_registry_name: str
    prod_registry_login_server: str
    staging_cluster: str
    production_cluster: str
    key_vault_name: str
    key_vault_secrets: tuple[str, ...]
    staging_environment: str = "staging"
    production_environment: str = "production"
    agent_vm_image: str = "ubuntu-24.04"
    # A self-hosted or Managed DevOps Pool with known egress addresses; None runs on Microsoft-hosted agents, whose
    # addresses a Key Vault firewall cannot list.
    agent_pool: str | None = None
    python_version: str = "3.13"
    # CI runs the Microsoft Security DevOps scan only where the stack installs or adopts the extension providing it.
    security_scan: bool = False
    # Who may resume the promotion; empty leaves it to anyone with queue rights, notified is the requester.
    promotion_approvers: tuple[str, ...] = ()
    # How long the promotion waits for an approver, as the production environment's approval check does.
    approval_timeout_minutes: int = 1440
    # Private ranges the pods' HTTPS may reach: the private endpoints subnet, where a private estate's Azure Monitor
    # private link answers telemetry (the manifests otherwise admit HTTPS to public addresses only).
    private_https: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, str) and not value.strip():
                raise ValueError(f"PipelineContext.{field.name}: must not be empty")
        for field_name in ("nonprod_registry_login_server", "prod_registry_login_server"):
            login_server: str = getattr(self, field_name)
            # An image reference is split at '/' and ':' (KubernetesManifest matches the name before the first ':').
            if "/" in login_server or ":" in login_server:
                raise ValueError(f"PipelineContext.{field_name}: {login_server!r} must be a bare host name")
        for field_name in ("staging_environment", "production_environment"):
            # A deployment job's environment may name "<environment>.<resource>": a '.' would split the name.
            if "." in getattr(self, field_name):
                raise ValueError(f"PipelineContext.{field_name}: {getattr(self, field_name)!r} must not contain '.'")
        for secret in self.key_vault_secrets:
            if not _SECRET_NAME.match(secret):
                raise ValueError(
                    f"PipelineContext.key_vault_secrets: {secret!r} must be a Key Vault secret name starting with a "
                    "letter (letters, digits and '-', at most 127 characters)"
                )
        if APPINSIGHTS_SECRET not in self.key_vault_secrets:
            raise ValueError(
                f"PipelineContext.key_vault_secrets: {list(self.key_vault_secrets)!r} must include "
                f"{APPINSIGHTS_SECRET!r}: the integration tests export telemetry to Application Insights"
            )
        env_names = [secret_env_name(secret) for secret in self.key_vault_secrets]
        if len(set(env_names)) != len(env_names):
            raise ValueError(
                f"PipelineContext.key_vault_secrets: {list(self.key_vault_secrets)!r} must map to distinct "
                f"environment variables, got {env_names!r}"
            )


@dataclass(frozen=True)
class PipelineNames:
    """Azure DevOps pipeline definition names; CD's pipeline resource refers to CI by `ci`."""

    pr: str
    ci: str
    cd: str


def pipeline_names(service: ServiceSpec) -> PipelineNames:
    names = ServiceNames(service.name)
    return PipelineNames(pr=names.pipeline("pr"), ci=names.pipeline("ci"), cd=names.pipeline("cd"))


def secret_env_name(secret: str) -> str:
    """The environment variable a Key Vault secret is mapped to for the integration tests."""
    return _SECRET_ENV_OVERRIDES.get(secret, secret.upper().replace("-", "_"))
