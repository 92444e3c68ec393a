"""The whole estate: builds each part once and wires them by passing outputs as inputs; nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pulumi
from pulumi_azure_native import authorization, resources

from components import naming
from components.alerts import Alerts, AlertsArgs, BudgetArgs, CostBudget, WatchedCluster
from components.cluster import Cluster, cluster_args
from components.component import Component, Placement, resource_group
from components.config import EstateConfig
from components.config_parts import Cluster as ClusterConfig
from components.config_parts import Registry as RegistryConfig
from components.defender import Defender, DefenderArgs
from components.devops.devops import AzureEndpoints, DevOps, DevOpsArgs, DevOpsService
from components.devops.service_connections import AzureSubscription
from components.devops_pool import PendingAgentPool
from components.identity import (
    Assigner,
    ClusterPrincipals,
    EstateAccess,
    PipelineIdentity,
    PipelineIdentityArgs,
    RoleGrants,
    RoleGrantsArgs,
    estate_grants,
)
from components.key_vault import KeyVault, KeyVaultArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.network import estate_network
from components.pipeline_inputs import estate_pipeline_context, service_specs
from components.registry import Registry, RegistryArgs
from components.tenancy import ClusterTenants, ClusterTenantsArgs


class Estate(Component):
    def __init__(self, name: str, config: EstateConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:estate:Estate", name, opts)
        names = naming.EstateNames(config.name_prefix, config.environment)
        # Stateful resources of a prod stack carry `protect`; a dev stack must stay easy to tear down.
        protect = config.environment == "prod"
        tags = {"workload": "aks-estate", "environment": config.environment, "managed-by": "pulumi"}
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        tenant_id = client.tenant_id
        subscription_id = client.subscription_id
        assigner = Assigner(subscription_id, f"{config.name_prefix}/{config.environment}")
        self.tenant_id = tenant_id
        # Where each organisation pool the pipelines run on sends its traffic from, for the "who talks to what" check.
        self.agent_pool_egress = {config.agent_pool: list(config.agent_pool_egress_ranges)} if config.agent_pool else {}

        group, placement = resource_group(name, names.resource_group, config.location, tags, self.child)
        self.resource_group_name = group.name
        monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                placement=placement,
                workspace_name=names.log_analytics_workspace,
                app_insights_name=names.application_insights,
                retention_days=config.log_retention_days,
                daily_cap_gb=config.log_daily_cap_gb,
                local_auth=config.telemetry.local_auth,
                private_ingestion=config.network.private,
                data_collection_endpoint_name=names.data_collection_endpoint,
                protect=protect,
            ),
            opts=self.child,
        )
        self._monitoring = monitoring

        vault = KeyVault(
            f"{name}-key-vault",
            KeyVaultArgs(
                placement=placement,
                vault_name=names.key_vault,
                tenant_id=tenant_id,
                workspace_id=monitoring.workspace_id,
                purge_protection=config.key_vault_purge_protection,
                soft_delete_retention_days=config.key_vault_soft_delete_retention_days,
                allowed_ip_ranges=config.key_vault_allowed_ip_ranges,
                network_default_action=config.key_vault_network_default_action,
                private=config.network.private,
                secrets={
                    naming.APPINSIGHTS_SECRET: monitoring.app_insights_connection_string,
                    **{key: value.get_secret_value() for key, value in config.ci_secrets.items()},
                },
                protect=protect,
            ),
            opts=self.child,
        )
        self._key_vault = vault

        self._registries = {
            role: Registry(
                f"{name}-registry-{role}",
                RegistryArgs(
                    placement=Placement(
                        resource_group_name=group.name,
                        location=config.location,
                        tags={**tags, naming.REGISTRY_ROLE_TAG: role},
                    ),
                    registry_name=names.registry(role),
                    sku=settings.sku,
                    zone_redundancy=settings.zone_redundancy,
                    untagged_retention_days=settings.untagged_retention_days,
                    private=config.network.private,
                    workspace_id=monitoring.workspace_id,
                    protect=protect,
                    # Which stage's images it holds: the policy pack exempts the non-production one by this tag.
                ),
                opts=self.child,
            )
            for role, settings in self._registry_settings(config)
        }

        self.network = estate_network(
            f"{name}-network",
            config=config,
            names=names,
            group_name=group.name,
            private_targets={"vault": vault.vault_id, **{k: r.registry_id for k, r in self._registries.items()}},
            monitoring=monitoring,
            tags=tags,
            parent=self,
        )

        self._clusters = {
            stage: Cluster(
                f"{name}-cluster-{stage}",
                cluster_args(
                    stage,
                    settings,
                    config=config,
                    names=names,
                    resource_group_name=group.name,
                    client=client,
                    assigner=assigner,
                    monitoring=monitoring,
                    node_subnet_id=self.network.node_subnet_ids[stage],
                    tags=tags,
                ),
                opts=self.child,
            )
            for stage, settings in self._cluster_settings(config)
        }
        self._alerts_and_budget(name, config=config, names=names, group=group, assigner=assigner, placement=placement)
        tenants = {
            stage: ClusterTenants(
                f"{name}-tenants-{stage}",
                ClusterTenantsArgs(
                    resource_group_name=group.name,
                    location=config.location,
                    cluster_name=cluster.cluster_name,
                    oidc_issuer_url=cluster.oidc_issuer_url,
                    stage=stage,
                    names=names,
                    services=[service.name for service in config.services],
                    tags=tags,
                    protect=protect,
                ),
                opts=self.child,
            )
            for stage, cluster in self._clusters.items()
        }

        self._pipelines_identity = PipelineIdentity(
            f"{name}-pipelines",
            PipelineIdentityArgs(
                placement=placement,
                identity_name=names.pipelines_identity,
            ),
            opts=self.child,
        )
        self._production_identity = PipelineIdentity(
            f"{name}-release",
            PipelineIdentityArgs(placement=placement, identity_name=names.production_identity),
            opts=self.child,
        )

        RoleGrants(
            f"{name}-access",
            RoleGrantsArgs(
                assigner=assigner,
                grants=estate_grants(
                    EstateAccess(
                        pipelines_principal_id=self._pipelines_identity.principal_id,
                        production_principal_id=self._production_identity.principal_id,
                        clusters={
                            stage: ClusterPrincipals(
                                cluster.cluster_id, cluster.kubelet_object_id, cluster.app_routing_object_id
                            )
                            for stage, cluster in self._clusters.items()
                        },
                        registry_ids={role: registry.registry_id for role, registry in self._registries.items()},
                        vault_id=vault.vault_id,
                        ci_secret_ids=vault.secret_ids,
                        services=[service.name for service in config.services],
                        served_certificates={
                            "staging": [
                                service.staging_tls_certificate
                                for service in config.services
                                if service.staging_tls_certificate
                            ],
                            "production": [
                                service.tls_certificate for service in config.services if service.tls_certificate
                            ],
                        },
                        app_insights_id=monitoring.app_insights_id,
                        telemetry_principal_ids={
                            stage: tenant.telemetry_principal_ids for stage, tenant in tenants.items()
                        },
                    )
                ),
            ),
            opts=self.child,
        )

        Defender(
            f"{name}-defender",
            DefenderArgs(
                subscription_id=subscription_id,
                manage_plans=config.defender_plans,
                devops_connector=config.defender_devops_connector,
                placement=placement,
                connector_name=naming.defender_devops_connector(config.devops_organization),
                devops_organization=config.devops_organization,
            ),
            opts=self.child,
        )

        for index, service in enumerate(config.services):
            if service.existing_code:
                pulumi.log.warn(
                    f"aks-estate:services[{index}].existingCode is deprecated: set importFrom to the Git URL of the "
                    "service's code (and importServiceConnectionId for a private source) to bring it in on creation"
                )
        agents = PendingAgentPool(config, tags)
        self._devops = DevOps(
            f"{name}-devops",
            DevOpsArgs(
                project_name=config.devops_project,
                security_extension=config.security_scan_extension,
                iac_preview_identity=config.iac_preview_identity,
                services=[
                    DevOpsService(
                        spec,
                        existing_code=service.existing_code,
                        import_from=service.import_from,
                        import_connection_id=str(service.import_service_connection_id)
                        if service.import_service_connection_id
                        else None,
                    )
                    for spec, service in zip(service_specs(config, names), config.services, strict=True)
                ],
                templates_release=config.templates_release,
                pipeline_context=estate_pipeline_context(config, names, vault.secret_names),
                minimum_reviewers=config.minimum_reviewers,
                azure=AzureEndpoints(
                    subscription=AzureSubscription(tenant_id, subscription_id),
                    resource_group_name=group.name,
                    identity_name=self._pipelines_identity.identity_name,
                    identity_client_id=self._pipelines_identity.client_id,
                    production_identity_name=self._production_identity.identity_name,
                    production_identity_client_id=self._production_identity.client_id,
                    nonprod_registry_name=self._registries["nonprod"].registry_name,
                    cluster_names={
                        stage: cluster.cluster_name_after_user_pool for stage, cluster in self._clusters.items()
                    },
                    cluster_ids={stage: cluster.cluster_id for stage, cluster in self._clusters.items()},
                    telemetry_client_ids={stage: tenant.telemetry_client_ids for stage, tenant in tenants.items()},
                ),
                azure_credential_name=names.federated_credential(names.azure_service_connection),
                registry_credential_name=names.federated_credential(names.registry_service_connection),
                production_credential_name=names.federated_credential(names.production_service_connection),
                protect=protect,
                managed_pool_name=agents.name,
            ),
            opts=self.child,
        )
        agents.build(
            f"{name}-agents",
            resource_group_name=group.name,
            subnet_id=self.network.agent_subnet_id,
            assigner=assigner,
            devops=self._devops,
            parent=self,
        )
        # What operators and the stack outputs need, as the estate's own outputs; its parts stay private.
        self.key_vault_name = vault.vault_name
        self.key_vault_uri = vault.vault_uri
        self.key_vault_id = vault.vault_id
        self.workspace_id = monitoring.workspace_id
        self.app_insights_id = monitoring.app_insights_id
        self.app_insights_connection_string = monitoring.app_insights_connection_string
        self.pipelines_identity_client_id = self._pipelines_identity.client_id
        self.registry_login_servers = {role: registry.login_server for role, registry in self._registries.items()}
        self.registry_ids = {role: registry.registry_id for role, registry in self._registries.items()}
        self.cluster_names = {stage: cluster.cluster_name for stage, cluster in self._clusters.items()}
        self.cluster_ids = {stage: cluster.cluster_id for stage, cluster in self._clusters.items()}
        self.devops_project_url = self._devops.project_url
        self.repository_urls = self._devops.repository_urls
        self.pipeline_ids = self._devops.pipeline_ids
        self.environment_names = self._devops.environment_names
        self.register_outputs(
            {
                "resourceGroupName": self.resource_group_name,
                "keyVaultName": self.key_vault_name,
                "keyVaultUri": self.key_vault_uri,
                "workspaceId": self.workspace_id,
                "registryLoginServers": self.registry_login_servers,
                "clusterNames": self.cluster_names,
                "devopsProjectUrl": self.devops_project_url,
                "repositoryUrls": self.repository_urls,
            }
        )

    def _alerts_and_budget(
        self,
        name: str,
        *,
        config: EstateConfig,
        names: naming.EstateNames,
        group: resources.ResourceGroup,
        # Its subscription is the budget's.
        assigner: Assigner,
        placement: Placement,
    ) -> Alerts:
        watched: tuple[naming.Stage, ...] = (
            ("staging", "production") if config.alerts.staging_cluster else ("production",)
        )
        alerts = Alerts(
            f"{name}-alerts",
            AlertsArgs(
                placement=placement,
                action_group_name=f"ag-{config.name_prefix}-{config.environment}",
                action_group_short_name=f"{config.name_prefix[:8]}{config.environment}",
                emails=config.alert_emails,
                webhook_url=config.alerts.webhook_url,
                thresholds=config.alerts,
                clusters=[WatchedCluster(names.cluster(stage), self._clusters[stage].cluster_id) for stage in watched],
                app_insights_id=self._monitoring.app_insights_id,
                services=[service.name for service in config.services],
                vault_name=names.key_vault,
                vault_id=self._key_vault.vault_id,
                workspace_id=self._monitoring.workspace_id,
                assigner=assigner,
            ),
            opts=self.child,
        )
        CostBudget(
            f"{name}-budget",
            BudgetArgs(
                subscription_id=assigner.subscription_id,
                budget_name=f"budget-{config.name_prefix}-{config.environment}",
                amount=config.budget.amount,
                start_date=config.budget.start_date or datetime.now(UTC).date().replace(day=1),
                resource_group_names=[
                    group.name,
                    *(cluster.node_resource_group for cluster in self._clusters.values()),
                ],
                emails=config.alert_emails,
                action_group_id=alerts.action_group_id,
            ),
            opts=self.child,
        )
        return alerts

    @staticmethod
    def _registry_settings(config: EstateConfig) -> tuple[tuple[naming.RegistryRole, RegistryConfig], ...]:
        return (("nonprod", config.registries.non_production), ("prod", config.registries.production))

    @staticmethod
    def _cluster_settings(config: EstateConfig) -> tuple[tuple[naming.Stage, ClusterConfig], ...]:
        return (("staging", config.clusters.staging), ("production", config.clusters.production))
