"""Key Vault rules: checkov's vault checks translated to azure-native inputs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from .common import About, Props, items, lookup, must_be_true, prod_only, resource_rule
from .sources import architecture, checkov

VAULT = "azure-native:keyvault:Vault"


def _kv_rbac(props: Props) -> Iterable[str]:
    return must_be_true(props, "properties.enableRbacAuthorization", note=" (no access policies)")


def _kv_soft_delete(props: Props) -> Iterable[str]:
    # Azure turns soft delete on when it is left out, as checkov's check (missing block passes) assumes.
    if lookup(props, "properties.enableSoftDelete") is False:
        yield "properties.enableSoftDelete must not be false"


def _kv_purge_protection(props: Props) -> Iterable[str]:
    return must_be_true(props, "properties.enablePurgeProtection", note=" on prod")


def _kv_default_deny(props: Props) -> Iterable[str]:
    action = lookup(props, "properties.networkAcls.defaultAction")
    if action != "Deny":
        yield f'properties.networkAcls.defaultAction must be "Deny", got {action!r}'


def _kv_public_network(props: Props) -> Iterable[str]:
    # As checkov: public access is acceptable only when the firewall names what may come through.
    if str(lookup(props, "properties.publicNetworkAccess")).lower() == "disabled":
        return
    acls = lookup(props, "properties.networkAcls")
    if not items(lookup(acls, "ipRules")) and not items(lookup(acls, "virtualNetworkRules")):
        yield "properties.publicNetworkAccess must be Disabled, or networkAcls must list ipRules or virtualNetworkRules"


KEY_VAULT_RBAC = "https://learn.microsoft.com/azure/key-vault/general/rbac-access-policy"
POLICIES: list[Any] = [
    resource_rule(
        "keyvault-rbac-authorization",
        "Key Vault authorizes data access with Azure RBAC (properties.enableRbacAuthorization), no access policies.",
        VAULT,
        _kv_rbac,
        About(
            architecture(KEY_VAULT_RBAC, "Azure RBAC, not access policies, for the Key Vault data plane"),
            Severity.HIGH,
            "Set enableRbacAuthorization true (components/key_vault.py) and grant Key Vault Secrets User per reader.",
        ),
    ),
    resource_rule(
        "keyvault-soft-delete",
        "Key Vault keeps deleted secrets recoverable (properties.enableSoftDelete not false).",
        VAULT,
        _kv_soft_delete,
        About(
            checkov("CKV_AZURE_111"),
            Severity.HIGH,
            "Remove enableSoftDelete: false (components/key_vault.py); Azure turns soft delete on by default.",
        ),
    ),
    resource_rule(
        "keyvault-purge-protection",
        "On prod, Key Vault has purge protection (properties.enablePurgeProtection), so it is recoverable.",
        VAULT,
        prod_only(_kv_purge_protection),
        About(
            checkov("CKV_AZURE_110", "CKV_AZURE_42"),
            Severity.HIGH,
            "Set keyVaultPurgeProtection: true in Pulumi.prod.yaml (it cannot be turned off again).",
        ),
    ),
    resource_rule(
        "keyvault-firewall-default-deny",
        "On prod, the Key Vault firewall denies by default (properties.networkAcls.defaultAction Deny).",
        VAULT,
        # A dev stack may open its vault to Microsoft-hosted agents, which have no fixed addresses to allow
        # (`keyVaultNetworkDefaultAction: Allow`, EXCEPTIONS.md); the config model refuses that on prod.
        prod_only(_kv_default_deny),
        About(
            checkov("CKV_AZURE_109"),
            Severity.HIGH,
            "Set keyVaultNetworkDefaultAction: Deny with agentPool and keyVaultAllowedIpRanges in Pulumi.prod.yaml.",
        ),
    ),
    resource_rule(
        "keyvault-public-network-restricted",
        "On prod, Key Vault disables public network access or names the networks it allows (networkAcls).",
        VAULT,
        prod_only(_kv_public_network),
        About(
            checkov("CKV_AZURE_189"),
            Severity.HIGH,
            "List the agents' egress ranges in keyVaultAllowedIpRanges (Pulumi.prod.yaml), or disable public access.",
        ),
    ),
]
