"""Pulumi's secrets provider: one RSA key per stack in a vault for IaC only, used as `azurekeyvault://`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault

from bootstrap.component import BootstrapComponent
from components.key_vault import VaultArgs, rbac_vault


@dataclass(frozen=True)
class SecretsKeysArgs(VaultArgs):
    key_names: Sequence[str]


class SecretsKeys(BootstrapComponent):
    vault_name: pulumi.Output[str]
    key_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: SecretsKeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("SecretsKeys", name, opts)
        # A lost key makes every secret in the stack's state unreadable: vault and keys are protected.
        # Azure RBAC only: each identity gets Key Vault Crypto User on its stack's key, nothing on the vault.
        vault = rbac_vault(
            f"{name}-vault",
            args,
            # The IaC pipelines' agents (the prod estate's Managed DevOps Pool; an operator's machine for each stack's
            # first `pulumi up`) have no fixed egress addresses to allow, so the vault stays reachable and every
            # request needs an Entra token and a role on one key.
            keyvault.NetworkRuleSetArgs(default_action="Allow", bypass="AzureServices"),
            purge_protection=True,
            opts=self.kept,
        )
        self.key_ids = {}
        for key_name in args.key_names:
            key = keyvault.Key(
                f"{name}-{key_name}",
                key_name=key_name,
                vault_name=vault.name,
                resource_group_name=args.placement["resource_group_name"],
                # Pulumi's azurekeyvault:// secrets manager is go-cloud's keeper (google/go-cloud
                # secrets/azurekeyvault/akv.go: keeper.Encrypt and keeper.Decrypt call the vault's encrypt and decrypt
                # operations, RSA-OAEP-256 by default), so no other operation is allowed.
                properties=keyvault.KeyPropertiesArgs(kty="RSA", key_size=3072, key_ops=["encrypt", "decrypt"]),
                tags=args.placement["tags"],
                opts=self.kept,
            )
            self.key_ids[key_name] = key.id
        self.vault_name = vault.name
        self.register_outputs({"vaultName": self.vault_name, "keyIds": self.key_ids})
