"""Every name of THE IaC contract (pipelines/infra/ refers to these by name; the link check compares them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components import naming

Role = Literal["preview", "deploy"]
PipelineKind = Literal["pr", "deploy", "drift"]
ROLES: tuple[Role, ...] = ("preview", "deploy")

VARIABLE_GROUP = "aks-estate-iac"
STATE_ACCOUNT_VARIABLE = "pulumiStateAccount"
KEY_VAULT_VARIABLE = "pulumiKeyVault"
# The pool the IaC pipelines run on: the prod estate's Managed DevOps Pool (components/devops_pool.py), which also
# serves this project (aks-estate:managedAgentPool.iacProject).
AGENT_POOL_VARIABLE = "agentPool"
POOL_STACK = naming.IAC_POOL_STACK
PIPELINES: dict[PipelineKind, tuple[str, str]] = {
    "pr": ("aks-estate-iac-pr", "pipelines/infra/pr.azure-pipelines.yml"),
    "deploy": ("aks-estate-iac-deploy", "pipelines/infra/deploy.azure-pipelines.yml"),
    "drift": ("aks-estate-iac-drift", "pipelines/infra/drift.azure-pipelines.yml"),
}
PROD_PREVIEW_ENVIRONMENT = "aks-estate-iac-prod-preview"


def environment(stack: str) -> str:
    return f"aks-estate-iac-{stack}"


def state_container(stack: str) -> str:
    return f"state-{stack}"


def secrets_key(stack: str) -> str:
    return f"pulumi-{stack}"


def identity(role: Role, stack: str) -> str:
    return naming.checked("user-assigned identity", f"{role}-{stack}")


def service_connection(role: Role, stack: str) -> str:
    return naming.checked("Azure DevOps service connection", f"aks-estate-iac-{role}-{stack}")


def federated_credential(role: Role, stack: str) -> str:
    return naming.checked("federated identity credential", f"ado-{service_connection(role, stack)}")


@dataclass(frozen=True)
class BootstrapNames:
    prefix: str

    @property
    def resource_group(self) -> str:
        return naming.checked("resource group", f"rg-{self.prefix}-iac")

    @property
    def state_account(self) -> str:
        # Storage account names: 3-24 lowercase letters and digits, globally unique.
        name = f"st{self.prefix}iacstate"
        if not (3 <= len(name) <= 24 and name.isalnum() and name.islower()):
            raise ValueError(f"storage account name {name!r} must be 3-24 lowercase letters and digits")
        return name

    @property
    def key_vault(self) -> str:
        return naming.checked("Key Vault", f"kv-{self.prefix}-iac")
