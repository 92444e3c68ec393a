"""One Azure Container Registry; the estate has two, non-production and production."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import containerregistry

from components.component import Component, Placement
from components.diagnostics import send_logs_to_workspace


@dataclass(frozen=True)
class RegistryArgs:
    placement: Placement
    registry_name: str
    sku: str
    zone_redundancy: bool
    untagged_retention_days: int | None
    # No public endpoint: clients come through the private endpoint (components/private_link.py); `az acr import`
    # still works, since the registry service copies images as a trusted service (the bypass below).
    private: bool
    workspace_id: pulumi.Input[str]
    protect: bool


class Registry(Component):
    registry_id: pulumi.Output[str]
    registry_name: pulumi.Output[str]
    login_server: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:containers:Registry", name, opts)
        # The retention policy (a Premium feature) purges untagged manifests; config refuses it on other SKUs.
        policies = (
            containerregistry.PoliciesArgs(
                retention_policy=containerregistry.RetentionPolicyArgs(
                    days=args.untagged_retention_days, status=containerregistry.PolicyStatus.ENABLED
                )
            )
            if args.untagged_retention_days is not None
            else None
        )
        registry = containerregistry.Registry(
            f"{name}-registry",
            registry_name=args.registry_name,
            **args.placement,
            sku=containerregistry.SkuArgs(name=args.sku),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            zone_redundancy=containerregistry.ZoneRedundancy.ENABLED
            if args.zone_redundancy
            else containerregistry.ZoneRedundancy.DISABLED,
            public_network_access=containerregistry.PublicNetworkAccess.DISABLED
            if args.private
            else containerregistry.PublicNetworkAccess.ENABLED,
            # A dedicated data endpoint (`<registry>.<region>.data.azurecr.io`) serves the layers instead of shared
            # storage hosts, and the private endpoint carries it beside the login server
            # (learn.microsoft.com/azure/container-registry/container-registry-private-link).
            data_endpoint_enabled=True if args.private else None,
            # "Import to or from a network-restricted Azure container registry requires the restricted registry to
            # allow access by trusted services" (learn.microsoft.com/azure/container-registry/
            # container-registry-import-images): promotion by `az acr import` between the two private registries.
            network_rule_bypass_options=containerregistry.NetworkRuleBypassOptions.AZURE_SERVICES,
            policies=policies,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        send_logs_to_workspace(
            f"{name}-diagnostics", resource_id=registry.id, workspace_id=args.workspace_id, parent=self
        )
        self.registry_id = registry.id
        self.registry_name = registry.name
        self.login_server = registry.login_server
        self.register_outputs(
            {"registryId": self.registry_id, "registryName": self.registry_name, "loginServer": self.login_server}
        )
