"""Key Vault rules: checkov's vault checks translated to azure-native inputs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .common import (
    Props,
    enabled,
    items,
    lookup,
    prod_only,
    resource_rule,
)

VAULT = "azure-native:keyvault:Vault"


def _kv_rbac(props: Props) -> Iterable[str]:
    if not enabled(lookup(props, "properties.enableRbacAuthorization")):
        yield "properties.enableRbacAuthorization must be true (no access policies)"


def _kv_soft_delete(props: Props) -> Iterable[str]:
    # Azure turns soft delete on when it is left out, as checkov's check (missing block passes) assumes.
    if lookup(props, "properties.enableSoftDelete") is False:
        yield "properties.enableSoftDelete must not be false"


def _kv_purge_protection(props: Props) -> Iterable[str]:
    if not enabled(lookup(props, "properties.enablePurgeProtection")):
        yield "properties.enablePurgeProtection must be true on prod"


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


POLICIES: list[Any] = [
    resource_rule(
        "keyvault-rbac-authorization",
        "architecture: Key Vault runs in RBAC mode (properties.enableRbacAuthorization), no access policies.",
        VAULT,
        _kv_rbac,
    ),
    resource_rule(
        "keyvault-soft-delete",
        "checkov CKV_AZURE_111: Ensure that key vault enables soft delete (properties.enableSoftDelete).",
        VAULT,
        _kv_soft_delete,
    ),
    resource_rule(
        "keyvault-purge-protection",
        "checkov CKV_AZURE_110: Ensure that key vault enables purge protection, and CKV_AZURE_42: Ensure the key "
        "vault is recoverable (prod stacks only).",
        VAULT,
        prod_only(_kv_purge_protection),
    ),
    resource_rule(
        "keyvault-firewall-default-deny",
        "checkov CKV_AZURE_109: Ensure that key vault allows firewall rules settings (networkAcls.defaultAction Deny).",
        VAULT,
        # A dev stack may open its vault to Microsoft-hosted agents, which have no fixed addresses to allow
        # (`keyVaultNetworkDefaultAction: Allow`, EXCEPTIONS.md); the config model refuses that on prod.
        prod_only(_kv_default_deny),
    ),
    resource_rule(
        "keyvault-public-network-restricted",
        "checkov CKV_AZURE_189: Ensure that Azure Key Vault disables public network access (or names allowed "
        "networks).",
        VAULT,
        prod_only(_kv_public_network),
    ),
]
