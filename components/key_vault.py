"""Key Vault in RBAC mode holding the secrets the CI pipeline's integration tests read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault

from components.component import Component, Placement
from components.diagnostics import send_logs_to_workspace


@dataclass(frozen=True)
class VaultArgs:
    """What every vault of the estate and the bootstrap states: where it lives, its name, the tenant whose RBAC
    authorizes it, how long it keeps what is deleted."""

    placement: Placement
    vault_name: str
    tenant_id: pulumi.Input[str]
    soft_delete_retention_days: int


def rbac_vault(
    name: str,
    args: VaultArgs,
    network_acls: keyvault.NetworkRuleSetArgs,
    *,
    purge_protection: bool,
    opts: pulumi.ResourceOptions,
    public_network_access: str | None = None,
    deployments: bool | None = None,
) -> keyvault.Vault:
    """A Standard vault authorizing by Azure RBAC only, soft delete on; `deployments` opens it (or not) to VMs, disk
    encryption and ARM templates, None leaving Azure's default."""
    return keyvault.Vault(
        name,
        vault_name=args.vault_name,
        **args.placement,
        properties=keyvault.VaultPropertiesArgs(
            tenant_id=args.tenant_id,
            sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
            enable_rbac_authorization=True,
            enable_soft_delete=True,
            soft_delete_retention_in_days=args.soft_delete_retention_days,
            # Azure refuses an explicit false; leaving it unset is how a dev vault stays purgeable.
            enable_purge_protection=True if purge_protection else None,
            enabled_for_deployment=deployments,
            enabled_for_disk_encryption=deployments,
            enabled_for_template_deployment=deployments,
            public_network_access=public_network_access,
            network_acls=network_acls,
        ),
        opts=opts,
    )


@dataclass(frozen=True)
class KeyVaultArgs(VaultArgs):
    workspace_id: pulumi.Input[str]
    purge_protection: bool
    allowed_ip_ranges: Sequence[str]
    network_default_action: str
    # No public endpoint at all: the vault is reached through its private endpoint (components/private_link.py).
    private: bool
    secrets: Mapping[str, pulumi.Input[str]]
    protect: bool


class KeyVault(Component):
    vault_id: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    secret_names: list[str]
    # By name: the secrets CI reads, as role-assignment scopes (Key Vault RBAC accepts a single secret's ID).
    secret_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:security:KeyVault", name, opts)
        vault = rbac_vault(
            f"{name}-vault",
            args,
            # A private vault still states Deny with no rules, so that no later opening admits anything by default.
            keyvault.NetworkRuleSetArgs(
                default_action="Deny" if args.private else args.network_default_action,
                bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                ip_rules=[keyvault.IPRuleArgs(value=ip_range) for ip_range in args.allowed_ip_ranges],
            ),
            purge_protection=args.purge_protection,
            public_network_access="Disabled" if args.private else "Enabled",
            deployments=False,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # Secrets go through the ARM control plane, which the vault firewall does not filter, so `pulumi up` works
        # from anywhere while data-plane reads stay limited to the allowed ranges.
        self.secret_ids = {}
        for secret_name, value in sorted(args.secrets.items()):
            secret = keyvault.Secret(
                f"{name}-secret-{secret_name}",
                secret_name=secret_name,
                vault_name=vault.name,
                resource_group_name=args.placement["resource_group_name"],
                properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value), content_type="text/plain"),
                # The provider deletes secrets through the data plane, which the firewall and RBAC mode close to the
                # deployer; the vault's own deletion (soft-deleted with its secrets) is what removes them.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.secret_ids[secret_name] = secret.id
        send_logs_to_workspace(
            f"{name}-diagnostics",
            resource_id=vault.id,
            workspace_id=args.workspace_id,
            parent=self,
            # Key Vault reads `Dedicated` back as null, which would show a diff on every refresh.
            resource_specific_tables=False,
        )
        self.vault_id = vault.id
        self.vault_name = vault.name
        self.vault_uri = vault.properties.apply(lambda properties: properties.vault_uri or "")
        self.secret_names = sorted(args.secrets)
        self.register_outputs({"vaultId": self.vault_id, "vaultName": self.vault_name, "vaultUri": self.vault_uri})
