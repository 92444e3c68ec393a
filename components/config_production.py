"""What a prod stack never weakens: each rule names the key, its value and why, checked after the parts validate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.config_hardening import unhardened_nodes
from components.config_parts import Violation

if TYPE_CHECKING:
    from components.config import EstateConfig


def production_violations(config: EstateConfig) -> list[Violation]:
    # Both clusters of a prod stack: the staging cluster is where every production change is proven first.
    clusters = (("staging", config.clusters.staging), ("production", config.clusters.production))
    return [
        (key, value, rule)
        for key, value, broken, rule in (
            *(
                (
                    f"clusters.{stage}.tier",
                    cluster.tier,
                    cluster.tier == "Free",
                    "a prod stack needs the financially backed API server SLA (Standard or Premium)",
                )
                for stage, cluster in clusters
            ),
            *(
                (
                    f"clusters.{stage}.{pool_key}.zones",
                    list(pool.zones),
                    len(pool.zones) < 2,
                    f"a prod stack spreads the {pool_key.removesuffix('Pool')} pool over at least two "
                    "availability zones",
                )
                for stage, cluster in clusters
                for pool_key, pool in (("systemPool", cluster.system_pool), ("userPool", cluster.user_pool))
            ),
            (
                "registries.nonProduction.sku",
                config.registries.non_production.sku,
                config.registries.non_production.sku == "Basic",
                "a prod stack's registries are Standard or Premium (checkov CKV_AZURE_163: image scanning)",
            ),
            (
                "clusters.production.systemPool.minCount",
                config.clusters.production.system_pool.min_count,
                config.clusters.production.system_pool.min_count < 2,
                "a prod stack keeps at least two system nodes",
            ),
            (
                "registries.production.sku",
                config.registries.production.sku,
                config.registries.production.sku != "Premium",
                "a prod stack's production registry is Premium (zone redundancy, retention)",
            ),
            (
                "registries.production.zoneRedundancy",
                config.registries.production.zone_redundancy,
                not config.registries.production.zone_redundancy,
                "a prod stack's production registry is zone redundant",
            ),
            (
                "registries.production.untaggedRetentionDays",
                config.registries.production.untagged_retention_days,
                config.registries.production.untagged_retention_days is None,
                "a prod stack's production registry purges untagged manifests on a schedule",
            ),
            (
                "keyVaultNetworkDefaultAction",
                config.key_vault_network_default_action,
                config.key_vault_network_default_action != "Deny",
                "a prod stack's Key Vault firewall denies by default (CI runs on an agentPool it allows)",
            ),
            (
                "securityScanExtension",
                config.security_scan_extension,
                config.security_scan_extension == "none",
                "a prod stack's CI runs the Microsoft Security DevOps scan (install or adopt its extension)",
            ),
            *((key, value, True, rule) for key, value, rule in unhardened_nodes(clusters)),
            (
                "telemetry.localAuth",
                config.telemetry.local_auth,
                config.telemetry.local_auth,
                "a prod stack's Application Insights and Log Analytics accept Entra ID authentication only",
            ),
            (
                "network.private",
                config.network.private,
                not config.network.private,
                "a prod stack keeps its API servers, vault and registries off the internet",
            ),
            (
                "keyVaultPurgeProtection",
                config.key_vault_purge_protection,
                not config.key_vault_purge_protection,
                "a prod stack's Key Vault keeps purge protection on",
            ),
            (
                "minimumReviewers",
                config.minimum_reviewers,
                config.minimum_reviewers < 2,
                "a prod stack needs at least two reviewers on every pull request",
            ),
        )
        if broken
    ]
