"""Alerts that reach a person, and a budget that bounds the bill: one action group per stack, every rule wired to it.

The cluster rules are Microsoft's recommended alerts for AKS as platform metric alerts (Azure Monitor Baseline Alerts,
azure.github.io/azure-monitor-baseline-alerts/services/ContainerService/managedClusters: node CPU, working-set memory,
disk, node condition NotReady/Unknown, unschedulable pods) plus two Container Insights log search alerts (restarts
, CrashLoopBackOff and failed image pulls, OOM kills) and a Resource Health alert for the API server's availability.
The registries have no alert of their own: Resource Health does not cover Microsoft.ContainerRegistry (MicrosoftDocs/
azure-monitor-docs articles/service-health/resource-health-checks-resource-types.md) and their metrics count pulls,
total and successful, which a metric alert cannot subtract; a pull that fails reaches the cluster's restarts alert
as ImagePullBackOff instead. Not managed
Prometheus: its recommended rule groups need an Azure Monitor workspace, a data collection endpoint and rule per
cluster and bill every ingested sample, while the platform metrics are collected for free and Container Insights
already sends KubePodInventory to the estate's workspace (components/cluster.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pulumi
from pulumi_azure_native import consumption, monitor

from components.component import Component, Placement, at
from components.config_parts import Alerts as Thresholds
from components.identity import Assigner, Grant, assign_grants, system_assigned_principal
from components.naming import pre_release_role_names

CLUSTER_METRICS = "Microsoft.ContainerService/managedClusters"
APP_INSIGHTS_METRICS = "microsoft.insights/components"
VAULT_METRICS = "Microsoft.KeyVault/vaults"
# Budgets notify at these percentages of the amount: actual spend at 80 and 100, the month's forecast at 100.
BUDGET_NOTIFICATIONS = {"actual80": ("Actual", 80), "actual100": ("Actual", 100), "forecast100": ("Forecasted", 100)}


@dataclass(frozen=True)
class WatchedCluster:
    name: str
    cluster_id: pulumi.Input[str]


@dataclass(frozen=True)
class AlertsArgs:
    placement: Placement
    action_group_name: str
    action_group_short_name: str
    emails: Sequence[str]
    # The URL is the webhook's credential: the component hands it to the provider as a secret, since config read from
    # the language host's environment (components/config.py) arrives plain even when the stack file holds it
    # `secure` (pulumi/pulumi#7127).
    webhook_url: str | None
    thresholds: Thresholds
    clusters: Sequence[WatchedCluster]
    app_insights_id: pulumi.Input[str]
    # The services whose staging and CI telemetry the Application Insights alerts leave out.
    services: Sequence[str]
    vault_name: str
    vault_id: pulumi.Input[str]
    # Where the clusters' Container Insights rows are: each log alert's identity reads them there.
    workspace_id: pulumi.Input[str]
    assigner: Assigner


@dataclass(frozen=True)
class _Metric:
    signal: str
    metric: str
    aggregation: str
    operator: str
    threshold: float
    dimensions: Mapping[str, Sequence[str]] | None = None
    excluded: Mapping[str, Sequence[str]] | None = None
    frequency: str = "PT1M"


def _cluster_metrics(thresholds: Thresholds) -> list[_Metric]:
    return [
        _Metric("node-cpu", "node_cpu_usage_percentage", "Average", "GreaterThan", thresholds.node_cpu_percent),
        _Metric(
            "node-memory",
            "node_memory_working_set_percentage",
            "Average",
            "GreaterThan",
            thresholds.node_memory_percent,
        ),
        _Metric("node-disk", "node_disk_usage_percentage", "Average", "GreaterThan", thresholds.node_disk_percent),
        _Metric(
            "node-not-ready",
            "kube_node_status_condition",
            "Total",
            "GreaterThan",
            0,
            {"status2": ["NotReady", "Unknown"]},
        ),
        _Metric(
            "pods-pending",
            "cluster_autoscaler_unschedulable_pods_count",
            "Average",
            "GreaterThan",
            thresholds.pending_pods,
        ),
    ]


# Container Insights' KubePodInventory (learn.microsoft.com/azure/azure-monitor/reference/tables/kubepodinventory):
# ContainerRestartCount is cumulative per container, so restarts within the window are its max minus its min.
# ContainerStatusReason is the reason of the container's current state (Docker-Provider source/plugins/ruby/
# in_kube_podinventory.rb): waiting on the kubelet's back-off after a crash, or after failed pulls (kubernetes
# pkg/kubelet/images/types.go: ErrImagePull "ErrImagePull", ErrImagePullBackOff "ImagePullBackOff").
RESTARTS_QUERY = """KubePodInventory
| summarize Restarts = max(ContainerRestartCount) - min(ContainerRestartCount),
    Reasons = make_set(ContainerStatusReason) by Namespace, Name, ContainerName
| where Restarts > {restarts}
    or array_length(set_intersect(Reasons, dynamic(["CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff"]))) > 0"""
# ContainerLastStatus is the container's lastState.terminated as JSON (reason, startedAt, finishedAt), re-sent with
# every inventory (microsoft/Docker-Provider source/plugins/ruby/in_kube_podinventory.rb, ContainerLastStatus), and
# the kubelet keeps lastState until the container terminates again (core/v1 ContainerStatus.lastState): only a kill
# that finished inside the window is news, or one kill would page until the pod is replaced.
OOM_QUERY = """KubePodInventory
| extend LastStatus = parse_json(ContainerLastStatus)
| where tostring(LastStatus.reason) == "OOMKilled" and todatetime(LastStatus.finishedAt) > ago({window}m)
| distinct Namespace, Name, ContainerName"""
# How far back each log alert looks; the OOM query's own cut-off is the same window.
LOG_WINDOW_MINUTES = 15
# One alert per pod, fired and resolved on its own: every value of each column ("*") splits the result.
LOG_ALERT_DIMENSIONS = ("Namespace", "Name")


class Alerts(Component):
    action_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:monitoring:Alerts", name, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = monitor.ActionGroup(
            f"{name}-action-group",
            action_group_name=args.action_group_name,
            group_short_name=args.action_group_short_name,
            **at("Global", args.placement),
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=f"email-{index}", email_address=email, use_common_alert_schema=True
                )
                for index, email in enumerate(args.emails)
            ],
            webhook_receivers=[
                monitor.WebhookReceiverArgs(
                    name="webhook", service_uri=pulumi.Output.secret(args.webhook_url), use_common_alert_schema=True
                )
            ]
            if args.webhook_url
            else None,
            # The URL is a credential, and Azure returns it in the group's webhookReceivers: the engine makes an output
            # secret only where the top-level input of its name is (pulumi/pulumi pkg/resource/deploy/
            # step_executor.go), and the secret here is nested in that list.
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["webhookReceivers"])
            if args.webhook_url
            else child,
        )
        self._args = args
        self._group_id = group.id
        for cluster in args.clusters:
            for metric in _cluster_metrics(args.thresholds):
                self._metric_alert(name, cluster.name, cluster.cluster_id, CLUSTER_METRICS, metric)
            self._log_alert(
                name,
                f"{cluster.name}-container-restarts",
                cluster.cluster_id,
                RESTARTS_QUERY.format(restarts=args.thresholds.container_restarts),
                "Containers restarting, in CrashLoopBackOff or failing to pull their image",
            )
            self._log_alert(
                name,
                f"{cluster.name}-oom-killed",
                cluster.cluster_id,
                OOM_QUERY.format(window=LOG_WINDOW_MINUTES),
                "Containers OOM-killed",
            )
            # Resource Health of a cluster is its API server's availability (learn.microsoft.com/azure/
            # service-health/resource-health-overview); activity log alerts on it cost nothing.
            self._health_alert(name, cluster.name, cluster.cluster_id)
        requests = args.thresholds
        # CI's integration tests, staging and production send to the one component; staging and CI report their own
        # role names (components/naming.py). Those are excluded rather than production's included, so a service that
        # names itself otherwise still pages: a false page over a missed one. All three metrics have the cloud/roleName
        # dimension (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/reference/supported-metrics/
        # microsoft-insights-components-metrics.md).
        pre_release = {"cloud/roleName": pre_release_role_names(args.services)} if args.services else None
        for signal, metric_name, aggregation, threshold in (
            ("failed-requests", "requests/failed", "Count", requests.failed_requests),
            ("response-time", "requests/duration", "Average", requests.response_time_ms),
            ("exceptions", "exceptions/count", "Count", requests.exceptions),
        ):
            metric = _Metric(signal, metric_name, aggregation, "GreaterThan", threshold, excluded=pre_release)
            self._metric_alert(name, "app-insights", args.app_insights_id, APP_INSIGHTS_METRICS, metric)
        self._metric_alert(
            name,
            args.vault_name,
            args.vault_id,
            VAULT_METRICS,
            _Metric("availability", "Availability", "Average", "LessThan", requests.vault_availability_percent),
        )
        self.action_group_id = group.id
        self.register_outputs({"actionGroupId": self.action_group_id})

    def _actions(self) -> list[monitor.MetricAlertActionArgs]:
        return [monitor.MetricAlertActionArgs(action_group_id=self._group_id)]

    def _metric_alert(self, name: str, target: str, scope: pulumi.Input[str], namespace: str, metric: _Metric) -> None:
        monitor.MetricAlert(
            f"{name}-{target}-{metric.signal}",
            rule_name=f"{target}-{metric.signal}",
            **at("global", self._args.placement),
            # With a dimension, Azure Monitor watches each matching value as its own series and alerts on each
            # (azure-monitor-docs alerts/alerts-metric-multiple-time-series-single-rule.md, "Multiple dimensions";
            # an excluded value means every other one, future ones included): per cloud role, i.e. per service.
            description=f"{metric.metric} {metric.operator} {metric.threshold:g} on {target}"
            + (" per cloud role (service)" if metric.excluded else ""),
            severity=2,
            enabled=True,
            scopes=[scope],
            evaluation_frequency=metric.frequency,
            window_size="PT5M",
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name=metric.signal,
                        metric_name=metric.metric,
                        metric_namespace=namespace,
                        time_aggregation=metric.aggregation,
                        operator=metric.operator,
                        threshold=metric.threshold,
                        dimensions=[
                            monitor.MetricDimensionArgs(name=key, operator=operator, values=list(values))
                            for operator, dimensions in (("Include", metric.dimensions), ("Exclude", metric.excluded))
                            for key, values in (dimensions or {}).items()
                        ]
                        or None,
                    )
                ],
            ),
            auto_mitigate=True,
            actions=self._actions(),
            opts=self.child,
        )

    def _log_alert(self, name: str, rule: str, scope: pulumi.Input[str], query: str, description: str) -> None:
        alert = monitor.ScheduledQueryRule(
            f"{name}-{rule}",
            rule_name=rule,
            **self._args.placement,
            kind="LogAlert",
            description=description,
            # A new workspace has no KubePodInventory table until Container Insights first writes, and the rule
            # service validates the query at create time unless told not to (skipQueryValidation, default false:
            # pulumi_azure_native/monitor/scheduled_query_rule.py; "so that a rule can be deployed before a table
            # exists", Azure/azure-rest-api-specs PR #32650). The queries are static and tested against the
            # table's columns in tests/test_alerts.py instead.
            skip_query_validation=True,
            severity=2,
            enabled=True,
            # Scoped to the cluster: the query reads only rows whose _ResourceId is that cluster.
            scopes=[scope],
            evaluation_frequency="PT5M",
            window_size=f"PT{LOG_WINDOW_MINUTES}M",
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                all_of=[
                    monitor.ConditionArgs(
                        query=query,
                        time_aggregation="Count",
                        dimensions=[
                            monitor.DimensionArgs(name=column, operator="Include", values=["*"])
                            for column in LOG_ALERT_DIMENSIONS
                        ],
                        operator="GreaterThan",
                        threshold=0,
                        failing_periods=monitor.ConditionFailingPeriodsArgs(
                            number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                        ),
                    )
                ]
            ),
            actions=monitor.ActionsArgs(action_groups=[self._group_id]),
            # Without an identity a rule queries as whoever last edited it, with their rights of that moment
            # (azure-monitor-docs alerts-create-log-alert-rule.md, "Identity"), and a rule whose queries fail for
            # a week is disabled (alerts-troubleshoot-log.md). Its own identity needs a reader role on every
            # workspace the query reads (same article) and, the query being resource-centric, on the cluster.
            identity=monitor.MicrosoftCommonIdentityArgs(type=monitor.IdentityType.SYSTEM_ASSIGNED),
            opts=self.child,
        )
        principal = alert.identity.apply(system_assigned_principal("a log alert rule with a system-assigned identity"))
        assign_grants(
            name,
            self._args.assigner,
            [
                Grant(f"{rule}-reads-cluster", "Reader", principal, scope),
                Grant(f"{rule}-reads-workspace", "Reader", principal, self._args.workspace_id),
            ],
            parent=self,
        )

    def _health_alert(self, name: str, target: str, scope: pulumi.Input[str]) -> None:
        monitor.ActivityLogAlert(
            f"{name}-{target}-health",
            activity_log_alert_name=f"{target}-health",
            **at("global", self._args.placement),
            description=f"{target} unavailable or degraded (Resource Health)",
            enabled=True,
            scopes=[scope],
            condition=monitor.AlertRuleAllOfConditionArgs(
                all_of=[
                    monitor.AlertRuleAnyOfOrLeafConditionArgs(field="category", equals="ResourceHealth"),
                    monitor.AlertRuleAnyOfOrLeafConditionArgs(
                        any_of=[
                            monitor.AlertRuleLeafConditionArgs(field="properties.currentHealthStatus", equals=status)
                            for status in ("Unavailable", "Degraded")
                        ]
                    ),
                ]
            ),
            actions=monitor.ActionListArgs(action_groups=[monitor.ActionGroupArgs(action_group_id=self._group_id)]),
            opts=self.child,
        )


@dataclass(frozen=True)
class BudgetArgs:
    subscription_id: pulumi.Input[str]
    budget_name: str
    amount: int
    start_date: date
    resource_group_names: Sequence[pulumi.Input[str]]
    emails: Sequence[str]
    action_group_id: pulumi.Input[str]


class CostBudget(Component):
    """A monthly consumption budget over the stack's resource groups, the estate's and the clusters' node groups."""

    def __init__(self, name: str, args: BudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:monitoring:CostBudget", name, opts)
        budget = consumption.Budget(
            f"{name}-budget",
            budget_name=args.budget_name,
            # One budget at subscription scope filtered to the stack's groups: the node resource groups hold the
            # VMs, which a budget on the estate's own group alone would not see.
            scope=pulumi.Output.concat("/subscriptions/", args.subscription_id),
            amount=args.amount,
            category="Cost",
            time_grain="Monthly",
            time_period=consumption.BudgetTimePeriodArgs(start_date=f"{args.start_date.isoformat()}T00:00:00Z"),
            filter=consumption.BudgetFilterArgs(
                dimensions=consumption.BudgetComparisonExpressionArgs(
                    name="ResourceGroupName", operator="In", values=list(args.resource_group_names)
                )
            ),
            notifications={
                key: consumption.NotificationArgs(
                    enabled=True,
                    operator="GreaterThanOrEqualTo",
                    threshold=threshold,
                    threshold_type=kind,
                    contact_emails=list(args.emails),
                    contact_groups=[args.action_group_id],
                )
                for key, (kind, threshold) in BUDGET_NOTIFICATIONS.items()
            },
            # Azure refuses a start date before the current month on create; once created, the budget keeps its
            # own, so a later run (another month's default) must not send a new one.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["timePeriod.startDate"]),
        )
        self.budget_id = budget.id
        self.register_outputs({"budgetId": self.budget_id})
