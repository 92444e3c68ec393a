"""The bootstrap stack's typed configuration: one frozen model, validated before any resource exists.

Read from the `aks-estate-bootstrap:*` keys exactly as the language host hands them over (`PULUMI_CONFIG`), so the
offline preview and a real `pulumi up` of bootstrap/ take the same path. Errors name the key, the value and the rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Self
from uuid import UUID

import pulumi.runtime
from pydantic import Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from components.config import ConfigError
from components.config_messages import decode
from components.config_parts import ConfigModel
from components.config_values import DevOpsProject, Email, Location, NamePrefix, RepositoryName

NAMESPACE = "aks-estate-bootstrap"
# The estate's stacks (Pulumi.dev.yaml, Pulumi.prod.yaml): each gets its own state container, key and identities.
STACKS = ("dev", "prod")


class BootstrapConfig(ConfigModel):
    # The same prefix as the estate's stacks: storage account and vault names are global, so it must be unique.
    name_prefix: NamePrefix
    location: Location
    # The project holding the IaC repository and pipelines; the bootstrap creates it. The estate's stacks create
    # their own projects (aks-estate:devopsProject), so this must be another name.
    devops_project: DevOpsProject = "aks-estate-iac"
    repository_name: RepositoryName = "aks-estate"
    # Who approves a prod deployment and every use of prod's preview identity: the environment aks-estate-iac-prod
    # and the connection aks-estate-iac-preview-prod.
    approvers: tuple[Email, ...] = Field(min_length=1)
    # Entra ID object IDs of the users who run Pulumi against the estate's stacks by hand (each stack's first
    # `pulumi up` runs from a person's machine): each gets the state and key roles of every stack.
    operators: tuple[UUID, ...] = Field(min_length=1)
    approval_timeout_minutes: int = Field(default=1440, ge=1, le=43200)
    minimum_reviewers: int = Field(default=2, ge=1, le=10)
    # Days a deleted or overwritten state blob, or a deleted container, can be restored.
    state_soft_delete_days: int = Field(default=30, ge=7, le=365)
    key_vault_soft_delete_retention_days: int = Field(default=90, ge=7, le=90)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len(set(map(str.casefold, self.approvers))) != len(self.approvers):
            raise PydanticCustomError("bootstrap_rule", "must not repeat an approver", {"key": "approvers"})
        if len(set(self.operators)) != len(self.operators):
            raise PydanticCustomError("bootstrap_rule", "must not repeat an operator", {"key": "operators"})
        return self


def _format(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item["loc"]]
        if item["type"] == "bootstrap_rule":
            loc = [item["ctx"]["key"]]
        key = f"{NAMESPACE}:{'.'.join(loc)}" if loc else NAMESPACE
        value = item["input"]
        if item["type"] == "missing":
            lines.append(f"{key} = (missing): is required")
            continue
        if item["type"] == "bootstrap_rule":
            value = value.get(item["ctx"]["key"]) if isinstance(value, dict) else value
        rule = item["msg"].removeprefix("Value error, ")
        if item["type"] == "too_short":
            rule = f"needs at least {item['ctx']['min_length']} item(s)"
        if item["type"] == "extra_forbidden":
            rule = "is not a setting the bootstrap knows (README.md, Bootstrap)"
        lines.append(f"{key} = {json.dumps(value, default=str)}: {rule}")
    return "invalid bootstrap configuration:\n  " + "\n  ".join(lines)


def parse(raw: Mapping[str, Any]) -> BootstrapConfig:
    """Validate the raw keys (without the namespace); raise ConfigError naming every broken rule."""
    try:
        return BootstrapConfig.model_validate({key: decode(value) for key, value in raw.items()})
    except ValidationError as exc:
        raise ConfigError(_format(exc)) from None


def from_pulumi() -> BootstrapConfig:
    every_key: dict[str, Any] = {**pulumi.runtime.get_config_env()}
    every_key.update(pulumi.runtime.config.CONFIG.get())
    prefix = f"{NAMESPACE}:"
    return parse({key.removeprefix(prefix): value for key, value in every_key.items() if key.startswith(prefix)})
