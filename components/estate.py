"""The whole estate: builds each part once and wires them by passing outputs as inputs; nothing else."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, resources

from components import naming
from components.cluster import Cluster, ClusterArgs, NodePoolArgs
from components.config import Cluster as ClusterConfig
from components.config import EstateConfig, NodePool
from components.config import Registry as RegistryConfig
from components.defender import Defender, DefenderArgs
from components.devops.devops import ClusterEndpoint, DevOps, DevOpsArgs, DevOpsService, pipeline_context
from components.devops.repository_files import ServiceSpec
from components.identity import Grant, PipelineIdentity, PipelineIdentityArgs, RoleGrants, RoleGrantsArgs
from components.key_vault import KeyVault, KeyVaultArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.registry import Registry, RegistryArgs


@dataclass(frozen=True)
class StageParts:
    cluster: Cluster
    registry: Registry


def _node_pool(pool: NodePool) -> NodePoolArgs:
    return NodePoolArgs(
        vm_size=pool.vm_size,
        min_count=pool.min_count,
        max_count=pool.max_count,
        zones=pool.zones,
        max_pods=pool.max_pods,
        os_disk_size_gb=pool.os_disk_size_gb,
    )


class Estate(pulumi.ComponentResource):
    def __init__(self, name: str, config: EstateConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:estate:Estate", name, None, opts)
        names = naming.EstateNames(config.name_prefix, config.environment)
        # Stateful resources of a prod stack carry `protect`; a dev stack must stay easy to tear down.
        protect = config.environment == "prod"
        tags = {"workload": "aks-estate", "environment": config.environment, "managed-by": "pulumi"}
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        tenant_id = client.tenant_id
        subscription_id = client.subscription_id
        self.tenant_id = tenant_id

        group = resources.ResourceGroup(
            f"{name}-resource-group",
            resource_group_name=names.resource_group,
            location=config.location,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.resource_group_name = group.name

        monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                resource_group_name=group.name,
                location=config.location,
                workspace_name=names.log_analytics_workspace,
                app_insights_name=names.application_insights,
                retention_days=config.log_retention_days,
                daily_cap_gb=config.log_daily_cap_gb,
                protect=protect,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.monitoring = monitoring

        vault = KeyVault(
            f"{name}-key-vault",
            KeyVaultArgs(
                resource_group_name=group.name,
                location=config.location,
                vault_name=names.key_vault,
                tenant_id=tenant_id,
                workspace_id=monitoring.workspace_id,
                purge_protection=config.key_vault_purge_protection,
                soft_delete_retention_days=config.key_vault_soft_delete_retention_days,
                allowed_ip_ranges=config.key_vault_allowed_ip_ranges,
                network_default_action=config.key_vault_network_default_action,
                secrets={
                    naming.APPINSIGHTS_SECRET: monitoring.app_insights_connection_string,
                    **{key: value.get_secret_value() for key, value in config.ci_secrets.items()},
                },
                protect=protect,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.key_vault = vault

        self.registries = {
            role: Registry(
                f"{name}-registry-{role}",
                RegistryArgs(
                    resource_group_name=group.name,
                    location=config.location,
                    registry_name=names.registry(role),
                    sku=settings.sku,
                    zone_redundancy=settings.zone_redundancy,
                    untagged_retention_days=settings.untagged_retention_days,
                    workspace_id=monitoring.workspace_id,
                    protect=protect,
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for role, settings in self._registry_settings(config)
        }

        self.clusters = {
            stage: self._cluster(
                name,
                stage=stage,
                settings=settings,
                names=names,
                config=config,
                tenant_id=tenant_id,
                monitoring=monitoring,
                group=group,
                protect=protect,
                tags=tags,
            )
            for stage, settings in self._cluster_settings(config)
        }

        self.pipelines_identity = PipelineIdentity(
            f"{name}-pipelines",
            PipelineIdentityArgs(
                resource_group_name=group.name,
                location=config.location,
                identity_name=names.pipelines_identity,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        access = RoleGrants(
            f"{name}-access",
            RoleGrantsArgs(
                subscription_id=subscription_id,
                stack_key=f"{config.name_prefix}/{config.environment}",
                grants=self._grants(config),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        Defender(
            f"{name}-defender",
            DefenderArgs(
                subscription_id=subscription_id,
                manage_plans=config.defender_plans,
                devops_connector=config.defender_devops_connector,
                resource_group_name=group.name,
                location=config.location,
                connector_name=naming.defender_devops_connector(config.devops_organization),
                devops_organization=config.devops_organization,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.devops = DevOps(
            f"{name}-devops",
            DevOpsArgs(
                project_name=config.devops_project,
                # Defender for DevOps is organisation-wide: the stack that owns the connector owns its extension.
                install_security_extension=config.defender_devops_connector,
                services=[
                    DevOpsService(
                        ServiceSpec(
                            name=service.name,
                            port=service.port,
                            replicas=service.replicas,
                            max_replicas=service.max_replicas,
                        ),
                        existing_code=service.existing_code,
                    )
                    for service in config.services
                ],
                pipeline_context=pipeline_context(
                    names,
                    vault.secret_names,
                    config.production_approvers,
                    config.agent_pool,
                    config.approval_timeout_minutes,
                ),
                minimum_reviewers=config.minimum_reviewers,
                production_approvers=config.production_approvers,
                approval_timeout_minutes=config.approval_timeout_minutes,
                tenant_id=tenant_id,
                subscription_id=subscription_id,
                resource_group_name=group.name,
                identity_name=self.pipelines_identity.identity_name,
                identity_client_id=self.pipelines_identity.client_id,
                azure_credential_name=names.federated_credential(names.azure_service_connection),
                registry_credential_name=names.federated_credential(names.registry_service_connection),
                nonprod_registry_name=self.registries["nonprod"].registry_name,
                key_vault_name=vault.vault_name,
                key_vault_read_grant_id=access.assignment_ids["pipelines-read-secrets"],
                key_vault_secret_ids=list(vault.secret_ids.values()),
                clusters={
                    stage: ClusterEndpoint(cluster_name=cluster.cluster_name, fqdn=cluster.fqdn)
                    for stage, cluster in self.clusters.items()
                },
                app_insights_connection_string=monitoring.app_insights_connection_string,
                protect=protect,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"resourceGroupName": group.name})

    @staticmethod
    def _registry_settings(config: EstateConfig) -> tuple[tuple[naming.RegistryRole, RegistryConfig], ...]:
        return (("nonprod", config.registries.non_production), ("prod", config.registries.production))

    @staticmethod
    def _cluster_settings(config: EstateConfig) -> tuple[tuple[naming.Stage, ClusterConfig], ...]:
        return (("staging", config.clusters.staging), ("production", config.clusters.production))

    def _cluster(
        self,
        name: str,
        *,
        stage: naming.Stage,
        settings: ClusterConfig,
        names: naming.EstateNames,
        config: EstateConfig,
        tenant_id: pulumi.Input[str],
        monitoring: Monitoring,
        group: resources.ResourceGroup,
        protect: bool,
        tags: dict[str, str],
    ) -> Cluster:
        return Cluster(
            f"{name}-cluster-{stage}",
            ClusterArgs(
                resource_group_name=group.name,
                location=config.location,
                cluster_name=names.cluster(stage),
                dns_prefix=names.cluster_dns_prefix(stage),
                node_resource_group=names.node_resource_group(stage),
                container_insights_rule_name=names.container_insights_rule(stage),
                kubernetes_version=settings.kubernetes_version,
                tier=settings.tier,
                system_pool=_node_pool(settings.system_pool),
                user_pool=_node_pool(settings.user_pool),
                upgrade_channel=settings.upgrade_channel,
                node_os_upgrade_channel=settings.node_os_upgrade_channel,
                api_server_authorized_ip_ranges=settings.api_server_authorized_ip_ranges,
                tenant_id=tenant_id,
                admin_group_object_ids=[str(group_id) for group_id in config.admin_group_object_ids],
                workspace_id=monitoring.workspace_id,
                protect=protect,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _grants(self, config: EstateConfig) -> list[Grant]:
        pipelines = self.pipelines_identity.principal_id
        nonprod, prod = self.registries["nonprod"], self.registries["prod"]
        grants = [
            Grant(
                "staging-kubelet-pull-nonprod",
                "AcrPull",
                self.clusters["staging"].kubelet_object_id,
                nonprod.registry_id,
            ),
            Grant(
                "production-kubelet-pull-prod",
                "AcrPull",
                self.clusters["production"].kubelet_object_id,
                prod.registry_id,
            ),
            Grant("pipelines-push-nonprod", "AcrPush", pipelines, nonprod.registry_id),
            # `az acr import` reads the source through Entra ID too: the importer role on both ends of the promotion.
            Grant(
                "pipelines-import-from-nonprod",
                "Container Registry Data Importer and Data Reader",
                pipelines,
                nonprod.registry_id,
            ),
            Grant(
                "pipelines-import-prod", "Container Registry Data Importer and Data Reader", pipelines, prod.registry_id
            ),
            Grant("pipelines-read-secrets", "Key Vault Secrets User", pipelines, self.key_vault.vault_id),
        ]
        for stage, cluster in self.clusters.items():
            grants.append(
                Grant(
                    f"pipelines-credentials-{stage}",
                    "Azure Kubernetes Service Cluster User Role",
                    pipelines,
                    cluster.cluster_id,
                )
            )
            # Deploy rights end at each service's namespace: Azure RBAC for Kubernetes accepts namespace scopes.
            grants.extend(
                Grant(
                    f"pipelines-deploy-{stage}-{service.name}",
                    "Azure Kubernetes Service RBAC Writer",
                    pipelines,
                    pulumi.Output.concat(cluster.cluster_id, "/namespaces/", service.name),
                )
                for service in config.services
            )
        return grants
