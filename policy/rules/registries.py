"""Container registry rules (checkov's ACR checks and the architecture's), with their exemptions stated here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from .common import About, Exemption, Props, enabled, lookup, prod_only, resource_rule
from .sources import architecture, checkov

REGISTRY = "azure-native:containerregistry:Registry"


def _sku(props: Props) -> Any:
    return lookup(props, "sku.name")


# The stack tags each registry with the stage whose images it holds (components/estate.py, `aks-estate-registry`).
REGISTRY_ROLE_TAG = "aks-estate-registry"


def _is_nonprod_registry(props: Props) -> bool:
    return bool(lookup(props, f"tags.{REGISTRY_ROLE_TAG}") == "nonprod")


NONPROD_REGISTRY = f"the registry tagged {REGISTRY_ROLE_TAG}: nonprod (components/estate.py)"
EXEMPTIONS = (
    Exemption(
        "acr-zone-redundancy",
        NONPROD_REGISTRY,
        "a zone outage of the non-production registry delays CI, not production",
        lambda resource: _is_nonprod_registry(resource.props),
    ),
    Exemption(
        "acr-retention-policy",
        "Basic and Standard registries",
        "ACR offers the retention policy on Premium only, so Basic and Standard registries cannot meet it",
        lambda resource: _sku(resource.props) != "Premium",
    ),
)


def _acr_admin_user(props: Props) -> Iterable[str]:
    if enabled(props.get("adminUserEnabled")):
        yield "adminUserEnabled must not be true"


def _acr_anonymous_pull(props: Props) -> Iterable[str]:
    if enabled(props.get("anonymousPullEnabled")):
        yield "anonymousPullEnabled must not be true"


def _acr_retention(props: Props) -> Iterable[str]:
    if str(lookup(props, "policies.retentionPolicy.status")).lower() != "enabled":
        yield 'policies.retentionPolicy.status must be "enabled" on a Premium registry'


def _acr_scanning_sku(props: Props) -> Iterable[str]:
    if _sku(props) == "Basic":
        yield "sku.name must be Standard or Premium on prod, not Basic"


def _acr_premium(props: Props) -> Iterable[str]:
    if _sku(props) != "Premium":
        yield f"sku.name must be Premium for the production registry on prod, got {_sku(props)!r}"


def _acr_zone_redundancy(props: Props) -> Iterable[str]:
    redundancy = props.get("zoneRedundancy")
    if redundancy != "Enabled":
        yield f'zoneRedundancy must be "Enabled" for the production registry on prod, got {redundancy!r}'


ACR_SKUS = "https://learn.microsoft.com/azure/container-registry/container-registry-skus"
POLICIES: list[Any] = [
    resource_rule(
        "acr-admin-user-disabled",
        "The registry's admin account is disabled (adminUserEnabled).",
        REGISTRY,
        _acr_admin_user,
        About(
            checkov("CKV_AZURE_137"),
            Severity.CRITICAL,
            "Leave adminUserEnabled false (components/registry.py): pushes and pulls authenticate with Entra ID "
            "through AcrPush and AcrPull role assignments.",
        ),
    ),
    resource_rule(
        "acr-anonymous-pull-disabled",
        "The registry refuses anonymous pulls (anonymousPullEnabled).",
        REGISTRY,
        _acr_anonymous_pull,
        About(
            checkov("CKV_AZURE_138"),
            Severity.HIGH,
            "Leave anonymousPullEnabled false (components/registry.py); grant AcrPull to the identity that pulls.",
        ),
    ),
    resource_rule(
        "acr-retention-policy",
        "A Premium registry deletes untagged manifests after a retention period (policies.retentionPolicy).",
        REGISTRY,
        _acr_retention,
        About(
            checkov("CKV_AZURE_167"),
            Severity.LOW,
            "Set registries.<role>.untaggedRetentionDays in Pulumi.<stack>.yaml; components/registry.py turns the "
            "policy on for Premium registries.",
        ),
    ),
    resource_rule(
        "acr-scanning-sku",
        "On prod, every registry is Standard or Premium, the SKUs Defender scans images on.",
        REGISTRY,
        prod_only(_acr_scanning_sku),
        About(
            checkov("CKV_AZURE_163"),
            Severity.MEDIUM,
            "Set registries.<role>.sku to Standard or Premium in Pulumi.prod.yaml.",
        ),
    ),
    resource_rule(
        "acr-prod-premium",
        "On prod, every registry is Premium: the production one for zone redundancy and retention, both for the "
        "private endpoints of the private estate.",
        REGISTRY,
        prod_only(_acr_premium),
        About(
            architecture(ACR_SKUS, "Premium for the registry production pulls from: zone redundancy, retention"),
            Severity.MEDIUM,
            "Set registries.<role>.sku: Premium in Pulumi.prod.yaml (the config model requires it when private).",
        ),
    ),
    resource_rule(
        "acr-zone-redundancy",
        "On prod, the production registry is zone redundant (zoneRedundancy).",
        REGISTRY,
        prod_only(_acr_zone_redundancy),
        About(
            checkov("CKV_AZURE_233"),
            Severity.MEDIUM,
            "Set registries.production.zoneRedundancy: true (Premium only) in Pulumi.prod.yaml.",
        ),
    ),
]
