"""Container registry rules (checkov's ACR checks and the architecture's), with their exemptions stated here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .common import (
    Props,
    enabled,
    lookup,
    prod_only,
    resource_rule,
)

REGISTRY = "azure-native:containerregistry:Registry"


def _sku(props: Props) -> Any:
    return lookup(props, "sku.name")


# The stack tags each registry with the stage whose images it holds (components/estate.py, `aks-estate-registry`).
REGISTRY_ROLE_TAG = "aks-estate-registry"


def _is_nonprod_registry(props: Props) -> bool:
    return bool(lookup(props, f"tags.{REGISTRY_ROLE_TAG}") == "nonprod")


@dataclass(frozen=True)
class Exemption:
    """A resource a rule deliberately does not hold to, said where the rule is and why."""

    policy: str
    applies_to: Callable[[Props], bool]
    reason: str


EXEMPTIONS = (
    Exemption(
        "acr-prod-premium",
        _is_nonprod_registry,
        "the non-production registry holds only images that have not passed staging: Standard is enough for a public "
        "one (dev); a private estate (network.private) makes it Premium anyway, for its private endpoint",
    ),
    Exemption(
        "acr-zone-redundancy",
        _is_nonprod_registry,
        "a zone outage of the non-production registry delays CI, not production",
    ),
    Exemption(
        "acr-retention-policy",
        lambda props: _sku(props) != "Premium",
        "ACR offers the retention policy on Premium only, so Basic and Standard registries cannot meet it",
    ),
)


def _exempt(policy: str, props: Props) -> bool:
    return any(exemption.policy == policy and exemption.applies_to(props) for exemption in EXEMPTIONS)


def _acr_admin_user(props: Props) -> Iterable[str]:
    if enabled(props.get("adminUserEnabled")):
        yield "adminUserEnabled must not be true"


def _acr_anonymous_pull(props: Props) -> Iterable[str]:
    if enabled(props.get("anonymousPullEnabled")):
        yield "anonymousPullEnabled must not be true"


def _acr_retention(props: Props) -> Iterable[str]:
    if _exempt("acr-retention-policy", props):
        return
    if str(lookup(props, "policies.retentionPolicy.status")).lower() != "enabled":
        yield 'policies.retentionPolicy.status must be "enabled" on a Premium registry'


def _acr_scanning_sku(props: Props) -> Iterable[str]:
    if _sku(props) == "Basic":
        yield "sku.name must be Standard or Premium on prod, not Basic"


def _acr_premium(props: Props) -> Iterable[str]:
    if not _exempt("acr-prod-premium", props) and _sku(props) != "Premium":
        yield f"sku.name must be Premium for the production registry on prod, got {_sku(props)!r}"


def _acr_zone_redundancy(props: Props) -> Iterable[str]:
    redundancy = props.get("zoneRedundancy")
    if not _exempt("acr-zone-redundancy", props) and redundancy != "Enabled":
        yield f'zoneRedundancy must be "Enabled" for the production registry on prod, got {redundancy!r}'


POLICIES: list[Any] = [
    resource_rule(
        "acr-admin-user-disabled",
        "checkov CKV_AZURE_137: Ensure ACR admin account is disabled (adminUserEnabled).",
        REGISTRY,
        _acr_admin_user,
    ),
    resource_rule(
        "acr-anonymous-pull-disabled",
        "checkov CKV_AZURE_138: Ensures that ACR disables anonymous pulling of images (anonymousPullEnabled).",
        REGISTRY,
        _acr_anonymous_pull,
    ),
    resource_rule(
        "acr-retention-policy",
        "checkov CKV_AZURE_167: Ensure a retention policy is set to cleanup untagged manifests (Premium registries, "
        "the only SKU that has one).",
        REGISTRY,
        _acr_retention,
    ),
    resource_rule(
        "acr-scanning-sku",
        "checkov CKV_AZURE_163: Enable vulnerability scanning for container images - Standard or Premium SKU "
        "(prod stacks only).",
        REGISTRY,
        prod_only(_acr_scanning_sku),
    ),
    resource_rule(
        "acr-prod-premium",
        "architecture (as the config model's prod rule): the production registry is Premium (prod stacks only; the "
        "non-production registry is exempt).",
        REGISTRY,
        prod_only(_acr_premium),
    ),
    resource_rule(
        "acr-zone-redundancy",
        "checkov CKV_AZURE_233: Ensure Azure Container Registry (ACR) is zone redundant (prod stacks only; the "
        "non-production registry is exempt).",
        REGISTRY,
        prod_only(_acr_zone_redundancy),
    ),
]
