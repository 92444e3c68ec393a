"""Alerts that reach a person and a budget that bounds the bill (components/alerts.py), read from the inventory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from components import config
from components.alerts import OOM_QUERY, RESTARTS_QUERY, _cluster_metrics
from components.config_parts import Alerts as Thresholds
from components.identity import BUILT_IN_ROLES, estate_assignable_role_ids
from tests.helpers import (
    ACTION_GROUP,
    APP_INSIGHTS,
    CLUSTER,
    HEALTH_ALERT,
    LOG_ALERT,
    METRIC_ALERT,
    REGISTRY,
    VAULT,
    drop,
    inputs,
    offline_preview_run,
    only,
    put,
    replaced,
    stack_config,
    stack_file_with,
)
from tools import capture, cost_overview
from tools.capture import Capture, Registration

RULES = (METRIC_ALERT, LOG_ALERT, HEALTH_ALERT)
BUDGET = "azure-native:consumption:Budget"
# What each kind of rule may watch: the resource types its signal exists on.
WATCHABLE = {
    METRIC_ALERT: {
        CLUSTER,
        APP_INSIGHTS,
        VAULT,
    },
    LOG_ALERT: {CLUSTER},
    HEALTH_ALERT: {CLUSTER},
}
CLUSTER_SIGNALS = {
    "node-cpu",
    "node-memory",
    "node-disk",
    "node-not-ready",
    "pods-pending",
    "container-restarts",
    "oom-killed",
    "health",
}


def _rules(estate: list[Registration]) -> list[Registration]:
    return [r for r in estate if r.type in RULES]


def _action_groups_of(rule: Registration) -> list[str]:
    actions = rule.inputs.get("actions")
    if rule.type == METRIC_ALERT:
        return [action.get("actionGroupId") for action in actions or []]
    if rule.type == HEALTH_ALERT:
        return [group.get("actionGroupId") for group in (actions or {}).get("actionGroups", [])]
    return list((actions or {}).get("actionGroups", []))


def unwired_rules(estate: list[Registration]) -> list[str]:
    """Rules that would fire into nothing: not sending to the stack's one action group."""
    group = next(r for r in estate if r.type == ACTION_GROUP)
    return [rule.name for rule in _rules(estate) if _action_groups_of(rule) != [group.id]]


def misscoped_rules(estate: list[Registration]) -> list[str]:
    """Rules not scoped to exactly one resource of the estate of a type their signal exists on."""
    ids = {r.id: r.type for r in estate if r.custom}
    return [
        rule.name
        for rule in _rules(estate)
        if len(rule.inputs.get("scopes", [])) != 1 or ids.get(rule.inputs["scopes"][0]) not in WATCHABLE[rule.type]
    ]


def test_every_rule_sends_to_the_action_group_and_watches_one_resource(estate: Capture) -> None:
    assert unwired_rules(estate.resources) == []
    assert misscoped_rules(estate.resources) == []


# An action group of another stack: the policy's alert-action-group (an action group is named at all) lets it through.
OTHER_GROUP = "/subscriptions/0/resourceGroups/elsewhere/providers/Microsoft.Insights/actionGroups/other"
ELSEWHERE = {
    METRIC_ALERT: put("actions", [{"actionGroupId": OTHER_GROUP}]),
    LOG_ALERT: put("actions.actionGroups", [OTHER_GROUP]),
    HEALTH_ALERT: put("actions.actionGroups", [{"actionGroupId": OTHER_GROUP}]),
}


@pytest.mark.parametrize("kind", RULES)
def test_a_rule_sending_to_another_action_group_is_caught(prod: Capture, kind: str) -> None:
    target = next(r for r in prod.resources if r.type == kind)
    assert unwired_rules(replaced(prod.resources, inputs(ELSEWHERE[kind])(target))) == [target.name]


def test_a_rule_scoped_to_the_wrong_resource_is_caught(prod: Capture) -> None:
    target = next(r for r in prod.resources if r.type == LOG_ALERT)
    vault = only(prod, VAULT)
    assert misscoped_rules(replaced(prod.resources, inputs(put("scopes", [vault.id]))(target))) == [target.name]


def _signals(estate: Capture, cluster_name: str) -> set[str]:
    names = {
        r.inputs.get("ruleName") or r.inputs.get("activityLogAlertName")
        for r in _rules(estate.resources)
        if r.inputs["scopes"] == [only(estate, CLUSTER, named=cluster_name.rsplit("-", maxsplit=1)[-1]).id]
    }
    return {str(name).removeprefix(f"{cluster_name}-") for name in names}


def test_prod_watches_both_clusters_app_insights_and_the_vault(prod: Capture) -> None:
    assert len(_rules(prod.resources)) >= 8
    for stage in ("staging", "production"):
        assert _signals(prod, f"aks-contoso-prod-{stage}") == CLUSTER_SIGNALS
    metrics = {r.inputs["criteria"]["allOf"][0]["metricName"] for r in prod.of_type(METRIC_ALERT)}
    assert {"requests/failed", "requests/duration", "exceptions/count", "Availability"} <= metrics
    # A registry's failing pulls reach the clusters' restarts alert as the kubelet's waiting reasons.
    assert '"ErrImagePull", "ImagePullBackOff"' in RESTARTS_QUERY


def test_dev_is_quieter_and_leaves_the_staging_cluster_alone(dev: Capture, prod: Capture) -> None:
    assert len(_rules(dev.resources)) < len(_rules(prod.resources))
    staging = only(dev, CLUSTER, named="staging")
    assert not any(r.inputs["scopes"] == [staging.id] for r in _rules(dev.resources))
    assert _signals(dev, "aks-contoso-dev-production") == CLUSTER_SIGNALS


def test_the_action_group_mails_the_production_approvers_by_default(prod: Capture) -> None:
    group = only(prod, ACTION_GROUP)
    assert [r["emailAddress"] for r in group.inputs["emailReceivers"]] == ["dana.release@contoso.com"]
    assert "webhookReceivers" not in group.inputs
    assert len(group.inputs["groupShortName"]) <= 12


def test_thresholds_come_from_config() -> None:
    chosen = Thresholds(node_cpu_percent=42, pending_pods=7)
    thresholds = {metric.signal: metric.threshold for metric in _cluster_metrics(chosen)}
    assert thresholds["node-cpu"] == 42
    assert thresholds["pods-pending"] == 7
    # The AMBA recommendation: NotReady or Unknown nodes, counted.
    (not_ready,) = [m for m in _cluster_metrics(chosen) if m.signal == "node-not-ready"]
    assert not_ready.dimensions == {"status2": ["NotReady", "Unknown"]}


@pytest.fixture(scope="module")
def customised(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    # As `pulumi config set --secret --path aks-estate:alerts.webhookUrl` writes it.
    alerts = {"emails": ["oncall@contoso.com"], "webhookUrl": {"secure": "v1:AAAA:ciphertext"}, "nodeCpuPercent": 65}
    budget = {"amount": 1234, "startDate": "2027-03-01"}
    path = stack_file_with(
        tmp_path_factory.mktemp("alerts"),
        "prod",
        lambda config: config.update({"aks-estate:alerts": alerts, "aks-estate:budget": budget}),
    )
    return capture.run_stack_file("prod", path)


def test_configured_receivers_thresholds_and_budget_reach_the_resources(customised: Capture) -> None:
    group = only(customised, ACTION_GROUP)
    assert [r["emailAddress"] for r in group.inputs["emailReceivers"]] == ["oncall@contoso.com"]
    # The offline placeholder passed the config's https rule and reached the provider as a secret, never in clear.
    # The mock monitor's deserializer marks the whole list secret when one value in it is (pulumi/runtime/rpc.py,
    # deserialize_property); the program sent serviceUri itself as a secret.
    assert group.inputs["webhookReceivers"] == capture.SECRET
    (receiver,) = group.wire_inputs["webhookReceivers"]["value"]
    assert receiver["serviceUri"] == capture.URL_SECRET_PLACEHOLDER
    assert capture.URL_SECRET_PLACEHOLDER not in json.dumps([r.as_json() for r in customised.resources])
    # Azure returns the URL in the group's output of the same name, which the engine keeps secret only when told.
    assert group.additional_secret_outputs == ("webhookReceivers",)
    cpu = [r for r in customised.of_type(METRIC_ALERT) if r.inputs["ruleName"].endswith("-node-cpu")]
    assert {r.inputs["criteria"]["allOf"][0]["threshold"] for r in cpu} == {65}
    budget = only(customised, BUDGET)
    assert budget.inputs["amount"] == 1234
    assert budget.inputs["timePeriod"]["startDate"] == "2027-03-01T00:00:00Z"
    assert budget.inputs["notifications"]["actual80"]["contactEmails"] == ["oncall@contoso.com"]


def test_the_budget_covers_the_stacks_groups_and_notifies_the_action_group(prod: Capture) -> None:
    budget = only(prod, BUDGET)
    group = only(prod, "azure-native:resources:ResourceGroup")
    node_groups = [c.inputs["nodeResourceGroup"] for c in prod.of_type(CLUSTER)]
    assert budget.inputs["scope"] == group.id.split("/resourceGroups/")[0]
    assert sorted(budget.inputs["filter"]["dimensions"]["values"]) == sorted(
        [group.inputs["resourceGroupName"], *node_groups]
    )
    notifications = {
        key: (n["thresholdType"], n["threshold"], n["contactGroups"])
        for key, n in budget.inputs["notifications"].items()
    }
    action_group = only(prod, ACTION_GROUP).id
    assert notifications == {
        "actual80": ("Actual", 80, [action_group]),
        "actual100": ("Actual", 100, [action_group]),
        "forecast100": ("Forecasted", 100, [action_group]),
    }
    assert "timePeriod.startDate" in budget.ignore_changes


def test_the_cost_overview_lists_every_pool_tier_and_registry_sku(prod: Capture) -> None:
    inventory = [r.as_json() for r in prod.resources]
    overview = cost_overview.render(inventory)
    for pool in prod.of_type("azure-native:containerservice:AgentPool"):
        assert f"`{pool.inputs['agentPoolName']}` (User) | `{pool.inputs['vmSize']}`" in overview
    assert overview.count("(System)") == 2
    assert "| `crcontosoprodprod` | Premium |" in overview
    assert "| `aks-contoso-prod-production` | Standard |" in overview
    # A pool the overview cannot attach to its cluster would be missing: the planted mistake.
    orphaned = [
        {**entry, "inputs": {**entry["inputs"], "resourceName": "elsewhere"}}
        if entry["type"] == "azure-native:containerservice:AgentPool"
        else entry
        for entry in inventory
    ]
    assert "(User)" not in cost_overview.render(orphaned)


def unvalidated_rules_missing(estate: list[Registration]) -> list[str]:
    """Log alert rules the rule service would validate at create time, before the table they read exists."""
    return [r.name for r in estate if r.type == LOG_ALERT and r.inputs.get("skipQueryValidation") is not True]


def test_log_alert_rules_can_be_created_before_container_insights_writes(prod: Capture, dev: Capture) -> None:
    for estate in (prod, dev):
        assert estate.of_type(LOG_ALERT)
        assert unvalidated_rules_missing(estate.resources) == []
    rule = prod.of_type(LOG_ALERT)[0]
    assert unvalidated_rules_missing(replaced(prod.resources, inputs(drop("skipQueryValidation"))(rule))) == [rule.name]


# The columns of KubePodInventory (learn.microsoft.com/azure/azure-monitor/reference/tables/kubepodinventory).
KUBE_POD_INVENTORY = {
    "ClusterId", "ClusterName", "Computer", "ContainerCreationTimeStamp", "ContainerID", "ContainerLastStatus",
    "ContainerName", "ContainerRestartCount", "ContainerStartTime", "ContainerStatus", "ContainerStatusReason",
    "ControllerKind", "ControllerName", "InstanceName", "Name", "Namespace", "PodCreationTimeStamp", "PodIp",
    "PodLabel", "PodRestartCount", "PodStartTime", "PodStatus", "PodUid", "ServiceName", "SourceSystem",
    "TenantId", "TimeGenerated", "Type", "_ResourceId",
}  # fmt: skip


def unknown_columns(query: str) -> set[str]:
    """Names a query reads that are neither KubePodInventory's columns nor ones the query itself defines.

    KQL's functions and operators are lower case; the table's columns and the query's own are capitalised.
    """
    text = re.sub(r'"[^"]*"', "", query)
    table, _, body = text.partition("\n")
    if table.strip() != "KubePodInventory":
        return {table.strip()}
    defined = set(re.findall(r"\b([A-Z]\w*)\s*=(?!=)", body))
    return set(re.findall(r"(?<![.\w])([A-Z_]\w*)", body)) - defined - KUBE_POD_INVENTORY


def _queries(estate: Capture) -> dict[str, str]:
    return {r.name: r.inputs["criteria"]["allOf"][0]["query"] for r in estate.of_type(LOG_ALERT)}


def test_log_queries_read_only_the_tables_columns(prod: Capture) -> None:
    queries = _queries(prod)
    assert len(queries) == 4
    for query in queries.values():
        assert unknown_columns(query) == set()
        assert unknown_columns(query.replace("ContainerName", "ContainerNames")) == {"ContainerNames"}
        assert unknown_columns(query.replace("KubePodInventory", "KubePodInventry")) == {"KubePodInventry"}


def _output_columns(query: str) -> set[str]:
    """The columns a query's last `summarize ... by` or `distinct` leaves, the only ones a dimension can split on."""
    *_, last = re.findall(r"(?:\bby|\bdistinct)\s+(\w+(?:,\s*\w+)*)", query)
    return {column.strip() for column in last.split(",")}


def per_pod_findings(estate: list[Registration]) -> list[str]:
    """Log alerts that would fire once for all pods (no split per pod), or OOM alerts on kills outside their window."""
    findings = []
    for rule in (r for r in estate if r.type == LOG_ALERT):
        condition = rule.inputs["criteria"]["allOf"][0]
        split = {d["name"]: (d["operator"], d["values"]) for d in condition.get("dimensions", [])}
        if split != {"Namespace": ("Include", ["*"]), "Name": ("Include", ["*"])}:
            findings.append(f"{rule.name}: split {split}")
        if not set(split) <= _output_columns(condition["query"]):
            findings.append(f"{rule.name}: splits on columns the query drops")
        window = re.fullmatch(r"PT(\d+)M", rule.inputs["windowSize"])
        if rule.name.endswith("oom-killed") and (
            window is None or f"todatetime(LastStatus.finishedAt) > ago({window[1]}m)" not in condition["query"]
        ):
            findings.append(f"{rule.name}: kills not bounded by the window")
    return findings


def test_log_alerts_fire_per_pod_and_oom_only_for_new_kills(prod: Capture) -> None:
    assert per_pod_findings(prod.resources) == []
    assert 'LastStatus.reason) == "OOMKilled"' in OOM_QUERY
    assert "by Namespace, Name, ContainerName" in RESTARTS_QUERY
    oom = next(r for r in prod.of_type(LOG_ALERT) if r.name.endswith("oom-killed"))
    restarts = next(r for r in prod.of_type(LOG_ALERT) if r.name.endswith("container-restarts"))
    query = oom.inputs["criteria"]["allOf"][0]["query"]
    plants = [
        (
            oom,
            [
                drop("criteria.allOf.0.dimensions"),
                put("criteria.allOf.0.query", query.replace(" and todatetime(LastStatus.finishedAt) > ago(15m)", "")),
                put("windowSize", "PT30M"),
                put("criteria.allOf.0.query", query.replace("distinct Namespace, Name,", "distinct")),
            ],
        ),
        (restarts, [drop("criteria.allOf.0.dimensions.1")]),
    ]
    for rule, mutations in plants:
        for mutation in mutations:
            assert per_pod_findings(replaced(prod.resources, inputs(mutation)(rule))) != []


# The resource types Resource Health reports on that this stack could watch, copied from MicrosoftDocs/
# azure-monitor-docs articles/service-health/resource-health-checks-resource-types.md (no
# Microsoft.ContainerRegistry there: an alert on a registry's Resource Health never fires).
RESOURCE_HEALTH_TYPES = {
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Insights/scheduledQueryRules",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.Network/LoadBalancers",
    "Microsoft.Network/natGateways",
    "Microsoft.Compute/virtualMachineScaleSets",
}


def _arm_type(resource_id: str) -> str:
    """`Namespace/type` of an ARM resource ID (the mock's IDs are shaped like Azure's)."""
    namespace, kind, *_ = resource_id.rsplit("/providers/", 1)[-1].split("/")
    return f"{namespace}/{kind}".lower()


def silent_health_alerts(estate: list[Registration]) -> list[str]:
    """Resource Health alerts scoped to a resource whose type Resource Health does not report on."""
    known = {t.lower() for t in RESOURCE_HEALTH_TYPES}
    return [
        rule.name
        for rule in estate
        if rule.type == HEALTH_ALERT and any(_arm_type(scope) not in known for scope in rule.inputs.get("scopes", []))
    ]


def test_resource_health_alerts_watch_only_types_resource_health_reports_on(prod: Capture, dev: Capture) -> None:
    for estate in (prod, dev):
        assert estate.of_type(HEALTH_ALERT)
        assert silent_health_alerts(estate.resources) == []
    rule = prod.of_type(HEALTH_ALERT)[0]
    registry = only(prod, REGISTRY, named="nonprod")
    planted = replaced(prod.resources, inputs(put("scopes", [registry.id]))(rule))
    assert silent_health_alerts(planted) == [rule.name]


WEBHOOK = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"


def test_a_plaintext_webhook_url_is_refused_naming_the_key_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = stack_file_with(tmp_path, "prod", put("aks-estate:alerts", {"webhookUrl": WEBHOOK}))
    out = tmp_path / "out"
    run = offline_preview_run("--stack", "prod", "--config-file", str(path), "--out", str(out))
    assert run.code == 2
    printed = capsys.readouterr().err + run.stdout
    assert "aks-estate:alerts.webhookUrl = [not shown]: must be set with `pulumi config set --secret" in printed
    assert WEBHOOK not in printed
    assert run.capture is None
    assert not out.exists()


def test_the_language_hosts_view_refuses_an_unmarked_webhook_and_hides_a_marked_one() -> None:
    """config.parse, as the real run reaches it: the whole `alerts` key is secret once any part is `secure`."""
    raw = {**stack_config("prod"), "alerts": json.dumps({"webhookUrl": "http://hooks.example.com/x"})}
    with pytest.raises(config.ConfigError) as unmarked:
        config.parse(raw)
    assert "aks-estate:alerts.webhookUrl = [not shown]" in str(unmarked.value)
    with pytest.raises(config.ConfigError) as marked:
        config.parse(raw, secret_keys=frozenset({"alerts"}))
    assert "aks-estate:alerts.webhookUrl = [secret]: must be an https:// URL" in str(marked.value)
    assert "hooks.example.com" not in str(unmarked.value) + str(marked.value)
    accepted = config.parse({**raw, "alerts": json.dumps({"webhookUrl": WEBHOOK})}, secret_keys=frozenset({"alerts"}))
    assert accepted.alerts.webhook_url == WEBHOOK


ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
WORKSPACE = "azure-native:operationalinsights:Workspace"


def unreadable_rules(estate: list[Registration]) -> list[str]:
    """Log alert rules without their own identity, or whose identity may not read the cluster or the workspace.

    A rule without one queries with its last editor's rights (azure-monitor-docs alerts-create-log-alert-rule.md).
    """
    (workspace,) = [r.id for r in estate if r.type == WORKSPACE]
    reader = BUILT_IN_ROLES["Reader"]
    granted = {
        (r.inputs["principalId"], r.inputs["scope"])
        for r in estate
        if r.type == ROLE_ASSIGNMENT and str(r.inputs["roleDefinitionId"]).endswith(f"/{reader}")
    }
    findings = []
    for rule in (r for r in estate if r.type == LOG_ALERT):
        if rule.inputs.get("identity", {}).get("type") != "SystemAssigned":
            findings.append(f"{rule.name}: no identity of its own")
            continue
        principal = rule.outputs["identity"]["principalId"]
        findings.extend(
            f"{rule.name}: cannot read {scope}"
            for scope in (rule.inputs["scopes"][0], workspace)
            if (principal, scope) not in granted
        )
    return findings


def test_each_log_alert_reads_as_its_own_identity_with_reader_on_cluster_and_workspace(
    prod: Capture, dev: Capture
) -> None:
    for estate in (prod, dev):
        assert unreadable_rules(estate.resources) == []
    # The bootstrap lets the deployer assign Reader (its ABAC condition lists these roles).
    assert BUILT_IN_ROLES["Reader"] in estate_assignable_role_ids()
    rule = next(r for r in prod.of_type(LOG_ALERT) if r.name.endswith("oom-killed"))
    principal = rule.outputs["identity"]["principalId"]
    grants = [r for r in prod.of_type(ROLE_ASSIGNMENT) if r.inputs["principalId"] == principal]
    assert len(grants) == 2
    assert unreadable_rules(replaced(prod.resources, inputs(drop("identity"))(rule))) == [
        f"{rule.name}: no identity of its own"
    ]
    for grant in grants:
        without = [r for r in prod.resources if r.urn != grant.urn]
        assert unreadable_rules(without) == [f"{rule.name}: cannot read {grant.inputs['scope']}"]
        elsewhere = inputs(put("scope", only(prod, VAULT).id))(grant)
        assert unreadable_rules(replaced(prod.resources, elsewhere)) != []
