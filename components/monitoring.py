"""Log Analytics workspace and workspace-based Application Insights: where every log and trace of the estate lands."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from components.component import Component, Placement


@dataclass(frozen=True)
class MonitoringArgs:
    placement: Placement
    workspace_name: str
    app_insights_name: str
    retention_days: int
    daily_cap_gb: int
    # Key-based ingestion and queries (workspace keys, instrumentation key); off, Entra ID tokens only.
    local_auth: bool
    # Ingestion only through the estate's Azure Monitor Private Link Scope (components/private_link.py); queries stay
    # public (portal, alerts), still Entra ID only.
    private_ingestion: bool
    data_collection_endpoint_name: str
    protect: bool


class Monitoring(Component):
    workspace_id: pulumi.Output[str]
    # The endpoint the Azure Monitor Agent takes its configuration from through the private link; None while public.
    data_collection_endpoint_id: pulumi.Output[str] | None
    app_insights_id: pulumi.Output[str]
    app_insights_connection_string: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:monitoring:Monitoring", name, opts)
        workspace = operationalinsights.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            **args.placement,
            sku=operationalinsights.WorkspaceSkuArgs(name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018),
            retention_in_days=args.retention_days,
            workspace_capping=operationalinsights.WorkspaceCappingArgs(daily_quota_gb=args.daily_cap_gb),
            # Container Insights keeps ingesting without keys: the Azure Monitor Agent authenticates with the cluster's
            # managed identity (`useAADAuth` on the omsagent add-on) and sends through its data collection rule
            # (components/cluster.py), which a workspace with local auth disabled accepts
            # (learn.microsoft.com/azure/azure-monitor/logs/azure-ad-authentication-logs).
            features=operationalinsights.WorkspaceFeaturesArgs(
                enable_log_access_using_only_resource_permissions=True,
                disable_local_auth=None if args.local_auth else True,
            ),
            public_network_access_for_ingestion=_ingestion(args.private_ingestion),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # With local auth off, ingestion takes an Entra ID token of an identity holding Monitoring Metrics Publisher
        # on the component; the connection string then only locates the endpoint
        # (learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication). Dev may keep key-based ingestion.
        app_insights = applicationinsights.Component(
            f"{name}-app-insights",
            resource_name_=args.app_insights_name,
            **args.placement,
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            workspace_resource_id=workspace.id,
            disable_local_auth=None if args.local_auth else True,
            public_network_access_for_ingestion=_ingestion(args.private_ingestion),
            opts=self.child,
        )
        self.data_collection_endpoint_id = None
        if args.private_ingestion:
            # Container Insights behind a private link: the agents fetch their configuration from a data collection
            # endpoint added to the scope and associated with each cluster as `configurationAccessEndpoint`
            # (learn.microsoft.com/azure/azure-monitor/containers/container-insights-enable-aks, "Private link",
            # managed identity authentication).
            endpoint = monitor.DataCollectionEndpoint(
                f"{name}-data-collection-endpoint",
                data_collection_endpoint_name=args.data_collection_endpoint_name,
                **args.placement,
                network_acls=monitor.DataCollectionEndpointNetworkAclsArgs(
                    public_network_access=monitor.KnownPublicNetworkAccessOptions.DISABLED
                ),
                opts=self.child,
            )
            self.data_collection_endpoint_id = endpoint.id
        self.workspace_id = workspace.id
        self.app_insights_id = app_insights.id
        self.app_insights_connection_string = pulumi.Output.secret(app_insights.connection_string)
        self.register_outputs(
            {
                "workspaceId": self.workspace_id,
                "appInsightsId": self.app_insights_id,
                "appInsightsConnectionString": self.app_insights_connection_string,
            }
        )


def _ingestion(private: bool) -> str | None:
    return "Disabled" if private else None
