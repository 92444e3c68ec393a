"""A corpus of invalid stack configurations, each with the message it must produce, and hostile values for every key.

Each case changes one thing in the committed prod (or dev) stack config. The message must name the key, show the
value and state the rule; nothing is registered because config is parsed before the estate exists
(test_offline_preview.py proves that end to end).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components import config, config_messages, naming, stack_file
from tests.helpers import stack_config, with_value
from tools import capture

Change = tuple[str, list[str | int], Any]


PROD, DEV = stack_config("prod"), stack_config("dev")


SERVICE_NAME: list[str | int] = [0, "name"]
# (stack, key, path inside the key, new value, expected fragment of the message)
CORPUS: list[tuple[str, str, list[str | int], Any, str]] = [
    ("prod", "environment", [], "staging", "aks-estate:environment = \"staging\": Input should be 'dev' or 'prod'"),
    (
        "prod",
        "namePrefix",
        [],
        "a",
        'aks-estate:namePrefix = "a": must be 2-10 lowercase letters and digits, starting with a letter',
    ),
    ("prod", "namePrefix", [], "contoso-x", 'aks-estate:namePrefix = "contoso-x": must be 2-10 lowercase letters'),
    ("prod", "namePrefix", [], "averyverylongprefix", 'aks-estate:namePrefix = "averyverylongprefix"'),
    ("prod", "namePrefix", [], "9lives", 'aks-estate:namePrefix = "9lives": must be 2-10 lowercase letters'),
    (
        "prod",
        "location",
        [],
        "West Europe",
        'aks-estate:location = "West Europe": must be an Azure region\'s programmatic name',
    ),
    ("prod", "adminGroupObjectIds", [], [], "aks-estate:adminGroupObjectIds = []: needs at least 1 item(s)"),
    (
        "prod",
        "adminGroupObjectIds",
        [],
        ["admins"],
        'aks-estate:adminGroupObjectIds[0] = "admins": Input should be a valid UUID',
    ),
    ("prod", "clusters", ["staging", "kubernetesVersion"], "1.33.2", 'clusters.staging.kubernetesVersion = "1.33.2"'),
    (
        "prod",
        "clusters",
        ["staging", "tier"],
        "Gold",
        "aks-estate:clusters.staging.tier = \"Gold\": Input should be 'Free', 'Standard' or 'Premium'",
    ),
    (
        "prod",
        "clusters",
        ["production", "tier"],
        "Free",
        'aks-estate:clusters.production.tier = "Free": a prod stack needs',
    ),
    (
        "prod",
        "clusters",
        ["production", "systemPool", "vmSize"],
        "D4s_v5",
        'systemPool.vmSize = "D4s_v5": must be an Azure VM size name such as Standard_D4s_v5',
    ),
    (
        "prod",
        "clusters",
        ["production", "systemPool", "minCount"],
        1,
        "systemPool.minCount = 1: a prod stack keeps at least two",
    ),
    (
        "prod",
        "clusters",
        ["production", "userPool", "maxCount"],
        1,
        "userPool.minCount = 3: must not exceed maxCount (1)",
    ),
    (
        "prod",
        "clusters",
        ["production", "userPool", "zones"],
        ["4"],
        "userPool.zones[0] = \"4\": Input should be '1', '2' or '3'",
    ),
    (
        "prod",
        "clusters",
        ["production", "userPool", "zones"],
        ["1"],
        'userPool.zones = ["1"]: a prod stack spreads the user pool',
    ),
    (
        "prod",
        "clusters",
        ["staging", "userPool", "maxPods"],
        10,
        "userPool.maxPods = 10: Input should be greater than or equal to 50",
    ),
    (
        "prod",
        "clusters",
        ["staging", "upgradeChannel"],
        "none",
        'clusters.staging.upgradeChannel = "none": Input should be',
    ),
    ("prod", "clusters", ["staging", "apiServerAuthorizedIpRanges"], ["10.0.0.0/8"], "must be a public range"),
    ("prod", "clusters", ["staging", "apiServerAuthorizedIpRanges"], ["1.2.3.4/16"], "has host bits set"),
    (
        "prod",
        "clusters",
        ["production", "extra"],
        True,
        "aks-estate:clusters.production.extra = true: is not a setting",
    ),
    ("prod", "clusters", ["staging", "tier"], "Free", 'aks-estate:clusters.staging.tier = "Free": a prod stack needs'),
    (
        "prod",
        "clusters",
        ["staging", "systemPool", "zones"],
        [],
        "clusters.staging.systemPool.zones = []: a prod stack",
    ),
    ("prod", "registries", ["nonProduction"], {"sku": "Basic"}, 'registries.nonProduction.sku = "Basic": must be'),
    (
        "prod",
        "registries",
        ["nonProduction"],
        {"sku": "Standard"},
        'registries.nonProduction.sku = "Standard": must be Premium while network.private is true',
    ),
    ("prod", "clusters", ["staging", "userPool", "maxPods"], 40, "userPool.maxPods = 40: Input should be greater than"),
    (
        "prod",
        "registries",
        ["production", "sku"],
        "Gold",
        'aks-estate:registries.production.sku = "Gold": Input should be',
    ),
    (
        "prod",
        "registries",
        ["production", "untaggedRetentionDays"],
        400,
        "untaggedRetentionDays = 400: Input should be less than or equal to 365",
    ),
    (
        "dev",
        "registries",
        ["production", "zoneRedundancy"],
        True,
        "registries.production.zoneRedundancy = true: needs sku Premium",
    ),
    ("prod", "services", [], [], "aks-estate:services = []: needs at least 1 item(s)"),
    (
        "prod",
        "services",
        [0, "name"],
        "orders_api",
        'aks-estate:services[0].name = "orders_api": must be lowercase letters, digits and single hyphens',
    ),
    (
        "prod",
        "services",
        [0, "name"],
        "a--b",
        'aks-estate:services[0].name = "a--b": must be lowercase letters, digits and single hyphens',
    ),
    ("prod", "services", [0, "name"], "x" * 31, "String should have at most 30 characters"),
    (
        "prod",
        "services",
        [0, "port"],
        80,
        "aks-estate:services[0].port = 80: Input should be greater than or equal to 1024",
    ),
    (
        "prod",
        "services",
        [0, "replicas"],
        0,
        "aks-estate:services[0].replicas = 0: Input should be greater than or equal to 1",
    ),
    ("dev", "services", [0, "expose"], "everyone", 'aks-estate:services[0].expose = "everyone": Input should be'),
    ("dev", "services", [0, "host"], "shop", 'aks-estate:services[0].host = "shop": must be a fully qualified DNS'),
    (
        "dev",
        "services",
        [0, "host"],
        "shop.contoso.com",
        'aks-estate:services[0].host = "shop.contoso.com": needs expose (public or internal)',
    ),
    (
        "dev",
        "services",
        [0, "tlsCertificate"],
        "shop",
        'aks-estate:services[0].tlsCertificate = "shop": needs host',
    ),
    (
        "dev",
        "services",
        [0, "calls"],
        ["payments"],
        'aks-estate:services[0].calls = "payments": is not the name of a service of this stack',
    ),
    (
        "dev",
        "services",
        [0, "calls"],
        ["orders"],
        'aks-estate:services[0].calls = ["orders"]: must not name the service',
    ),
    ("dev", "services", [0, "build"], "maven", 'aks-estate:services[0].build = "maven": Input should be'),
    (
        "dev",
        "services",
        [0, "importFrom"],
        "http://example.com/a.git",
        'aks-estate:services[0].importFrom = "http://example.com/a.git": must be an https:// Git clone URL',
    ),
    (
        "dev",
        "services",
        [0, "importFrom"],
        "https://me:hunter2@example.com/a.git",
        'importFrom = "https://[credentials]@example.com/a.git": must not carry credentials',
    ),
    (
        "dev",
        "services",
        [0, "importServiceConnectionId"],
        "3c8f0e2a-61d5-4f0e-9a55-0f1d2b4c6e7a",
        'aks-estate:services[0].importServiceConnectionId = "3c8f0e2a-61d5-4f0e-9a55-0f1d2b4c6e7a": needs importFrom',
    ),
    (
        "dev",
        "services",
        [0],
        {"name": "orders", "existingCode": True, "importFrom": "https://example.com/a.git"},
        "aks-estate:services[0].existingCode = true: is deprecated and cannot be combined with importFrom",
    ),
    (
        "prod",
        "logRetentionDays",
        [],
        "7",
        'aks-estate:logRetentionDays = "7": Input should be greater than or equal to 30',
    ),
    ("prod", "logDailyCapGb", [], "-5", 'aks-estate:logDailyCapGb = "-5": Input should be greater than or equal to -1'),
    (
        "prod",
        "keyVaultSoftDeleteRetentionDays",
        [],
        "120",
        'keyVaultSoftDeleteRetentionDays = "120": Input should be less than or equal to 90',
    ),
    (
        "prod",
        "keyVaultAllowedIpRanges",
        [],
        ["not-an-ip"],
        'aks-estate:keyVaultAllowedIpRanges[0] = "not-an-ip": must be an IPv4 address or CIDR range',
    ),
    ("prod", "keyVaultAllowedIpRanges", [], ["2001:db8::/32"], "must be an IPv4 range"),
    (
        "prod",
        "keyVaultNetworkDefaultAction",
        [],
        "Allow",
        'keyVaultNetworkDefaultAction = "Allow": a prod stack\'s Key',
    ),
    ("dev", "keyVaultNetworkDefaultAction", [], "Deny", "aks-estate:agentPool = null: is required while the Key Vault"),
    (
        "prod",
        "keyVaultAllowedIpRanges",
        [],
        ["20.50.0.0/24"],
        'aks-estate:keyVaultAllowedIpRanges = ["20.50.0.0/24"]: must be empty while network.private is true',
    ),
    (
        "prod",
        "managedAgentPool",
        ["devopsInfrastructureObjectId"],
        "DevOpsInfrastructure",
        'managedAgentPool.devopsInfrastructureObjectId = "DevOpsInfrastructure": must be the object ID (a GUID) of '
        "this tenant's DevOpsInfrastructure service principal, which joins the pool's agents to the agent subnet; "
        "print it with `az ad sp list --display-name DevOpsInfrastructure --query '[].id' --output tsv`",
    ),
    ("prod", "managedAgentPool", ["maximumConcurrency"], 0, "managedAgentPool.maximumConcurrency = 0: Input should"),
    (
        "prod",
        "agentPool",
        [],
        "aks-estate-agents",
        'aks-estate:agentPool = "aks-estate-agents": names an existing organisation pool while managedAgentPool '
        "builds one",
    ),
    ("prod", "agentPoolEgressRanges", [], ["10.0.0.0/8"], "must be a public range"),
    (
        "prod",
        "agentPool",
        [],
        "pool/with/slashes",
        'aks-estate:agentPool = "pool/with/slashes": must be an agent pool name',
    ),
    (
        "prod",
        "keyVaultPurgeProtection",
        [],
        "false",
        "aks-estate:keyVaultPurgeProtection = false: a prod stack's Key Vault keeps",
    ),
    (
        "prod",
        "defenderDevOpsConnector",
        [],
        "2",
        'aks-estate:defenderDevOpsConnector = "2": Input should be a valid boolean',
    ),
    (
        "prod",
        "securityScanExtension",
        [],
        "none",
        'aks-estate:securityScanExtension = "none": a prod stack\'s CI runs the Microsoft Security DevOps scan',
    ),
    ("dev", "securityScanExtension", [], "off", 'aks-estate:securityScanExtension = "off": Input should be'),
    ("prod", "defenderPlans", [], "maybe", 'aks-estate:defenderPlans = "maybe": Input should be a valid boolean'),
    (
        "prod",
        "devopsOrganization",
        [],
        "-contoso",
        'aks-estate:devopsOrganization = "-contoso": must be an Azure DevOps organisation name',
    ),
    ("prod", "devopsProject", [], "a/b", 'aks-estate:devopsProject = "a/b": must be an Azure DevOps project name'),
    (
        "dev",
        "iacPreviewIdentity",
        [],
        "3c1f5e2a-7b94-4d08-a6e1-59f2c0d4b8e7",
        'aks-estate:iacPreviewIdentity = "3c1f5e2a-7b94-4d08-a6e1-59f2c0d4b8e7": must be an Azure DevOps service '
        "principal descriptor",
    ),
    (
        "prod",
        "productionApprovers",
        [],
        ["not-an-email"],
        'aks-estate:productionApprovers[0] = "not-an-email": must be an e-mail address',
    ),
    ("prod", "productionApprovers", [], [], "aks-estate:productionApprovers = []: needs at least 1 item(s)"),
    ("prod", "minimumReviewers", [], "1", "aks-estate:minimumReviewers = 1: a prod stack needs at least two reviewers"),
    (
        "prod",
        "approvalTimeoutMinutes",
        [],
        "1",
        'aks-estate:approvalTimeoutMinutes = "1": Input should be greater than or equal to 5',
    ),
    (
        "prod",
        "templatesRelease",
        [],
        "v 2",
        'aks-estate:templatesRelease = "v 2": must be a release label: 1-64 letters, digits',
    ),
    (
        "prod",
        "services",
        [0, "name"],
        "pipeline-templates",
        'aks-estate:services[0].name = "pipeline-templates": names a repository the stack keeps for every service',
    ),
    ("prod", "ciSecrets", [], {"appinsights-connection-string": "x"}, "is a reserved secret name"),
    ("prod", "ciSecrets", [], {"Bad_Name": "x"}, 'aks-estate:ciSecrets.Bad_Name = "Bad_Name": must be 2-64 lowercase'),
    ("prod", "nmePrefix", [], "contoso", 'aks-estate:nmePrefix = "contoso": is not a setting this stack knows'),
    ("prod", "alerts", [], {"emails": ["not-an-address"]}, 'aks-estate:alerts.emails[0] = "not-an-address"'),
    ("prod", "alerts", [], {"webhookUrl": "https://h.example.com/x"}, "aks-estate:alerts.webhookUrl = [not shown]"),
    ("dev", "alerts", [], {"nodeCpuPercent": 120}, "aks-estate:alerts.nodeCpuPercent = 120: Input should be less"),
    ("prod", "budget", [], {"amount": 0}, "aks-estate:budget.amount = 0: Input should be greater than 0"),
    ("prod", "budget", [], {"amount": 100, "startDate": "2027-01-15"}, 'budget.startDate = "2027-01-15": must be'),
    ("prod", "network", ["subnets", "agents"], "10.250.0.0/24", 'network.subnets.agents = "10.250.0.0/24": must lie'),
    ("prod", "network", ["addressSpace"], "10.0.0.0/8", "must not overlap the clusters' service CIDR (10.0.0.0/16)"),
    ("dev", "network", [], {"addressSpace": "10.240.0.0/16"}, "aks-estate:network.subnets = (missing): is required"),
    ("prod", "telemetry", [], {"localAuth": True}, "aks-estate:telemetry.localAuth = true: a prod stack's"),
    ("dev", "telemetry", [], {"localAuth": "sometimes"}, 'aks-estate:telemetry.localAuth = "sometimes": Input should'),
    # `kubernetesVersion: 1.30` unquoted: YAML hands over the number 1.3.
    (
        "prod",
        "clusters",
        ["staging", "kubernetesVersion"],
        1.3,
        'clusters.staging.kubernetesVersion = 1.3: must be quoted in the stack file, e.g. kubernetesVersion: "1.30"',
    ),
    ("prod", "clusters", ["staging", "kubernetesVersion"], 1, "kubernetesVersion = 1: must be quoted"),
    (
        "prod",
        "clusters",
        ["staging", "kubernetesVersion"],
        "1.4",
        'kubernetesVersion = "1.4": must be a Kubernetes minor version from "1.28" to "1.39", without a patch',
    ),
    *(
        (
            "prod",
            "services",
            SERVICE_NAME,
            namespace,
            f'services[0].name = "{namespace}": is a namespace Kubernetes or AKS',
        )
        for namespace in (
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "kube-anything",
            "default",
            "gatekeeper-system",
            "app-routing-system",
            "calico-system",
            "tigera-operator",
            "azure-arc",
            "aks-command",
            "aks-istio-system",
        )
    ),
]


@pytest.mark.parametrize(
    ("stack", "key", "path", "value", "expected"),
    CORPUS,
    ids=[
        f"{stack}:{key}{''.join(f'.{p}' for p in path)}={json.dumps(value)[:24]}"
        for stack, key, path, value, _ in CORPUS
    ],
)
def test_invalid_config_is_refused_with_its_message(
    stack: str, key: str, path: list[str | int], value: Any, expected: str
) -> None:
    base = PROD if stack == "prod" else DEV
    with pytest.raises(config.ConfigError) as error:
        # As `pulumi config set --secret --path` leaves it: ciSecrets is a secret key of the stack.
        config.parse(with_value(base, key, path, value), secret_keys=frozenset({"ciSecrets"}))
    message = str(error.value)
    assert message.startswith("invalid stack configuration:\n  aks-estate:")
    assert expected in message, message


def test_the_corpus_is_large_and_covers_every_key() -> None:
    assert len(CORPUS) >= 30
    keys = {alias for alias in (field.alias for field in config.EstateConfig.model_fields.values()) if alias}
    assert keys <= {key for _, key, _, _, _ in CORPUS}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@pytest.mark.slow
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(key=st.sampled_from(sorted(PROD)), value=json_values, as_text=st.booleans())
def test_a_hostile_value_anywhere_is_refused_cleanly_or_yields_valid_names(key: str, value: Any, as_text: bool) -> None:
    raw = dict(PROD)
    raw[key] = value if (as_text and isinstance(value, str)) else json.dumps(value)
    try:
        parsed = config.parse(raw)
    except config.ConfigError as error:
        refusal = str(error)
    else:
        names = naming.EstateNames(parsed.name_prefix, parsed.environment)
        names.all()
        for service in parsed.services:
            naming.ServiceNames(service.name).all()
        return
    assert refusal.startswith("invalid stack configuration:\n  aks-estate:")
    assert "Traceback" not in refusal


def _refusal(raw: dict[str, str], stack: str | None = None) -> list[str]:
    with pytest.raises(config.ConfigError) as error:
        config.parse(raw, secret_keys=frozenset({"ciSecrets"}), stack=stack)
    return str(error.value).splitlines()[1:]


def test_one_invalid_service_is_one_line_not_also_an_empty_list() -> None:
    lines = _refusal(with_value(PROD, "services", [0, "name"], "Orders"))
    assert lines == [
        '  aks-estate:services[0].name = "Orders": must be lowercase letters, digits and single hyphens, start with a '
        "letter and end with a letter or digit (it names a repository and a Kubernetes namespace)"
    ]
    # The empty list itself still gets its own rule.
    assert _refusal(with_value(PROD, "services", [], [])) == ["  aks-estate:services = []: needs at least 1 item(s)"]


def test_no_message_shows_a_regular_expression() -> None:
    # Every pattern rule of the model, broken at once: each line states its rule in words.
    broken = dict(PROD)
    for key, value in (("namePrefix", "A"), ("location", "West Europe"), ("agentPool", "a/b")):
        broken = with_value(broken, key, [], value)
    broken = with_value(broken, "devopsOrganization", [], "-x")
    broken = with_value(broken, "devopsProject", [], "a/b")
    broken = with_value(broken, "productionApprovers", [], ["x"])
    broken = with_value(broken, "services", [0, "name"], "A_B")
    broken = with_value(broken, "clusters", ["staging", "systemPool", "vmSize"], "big")
    broken = with_value(broken, "clusters", ["staging", "kubernetesVersion"], "1.30.1")
    broken = with_value(broken, "ciSecrets", [], {"A_B": "x"})
    lines = _refusal(broken)
    assert len(lines) == 10, lines
    for line in lines:
        assert not re.search(r"pattern|\^|\[a-z|\{\d", line), line


@pytest.mark.parametrize(
    ("stack", "environment", "refused"),
    [
        ("prod", "dev", True),
        ("dev", "prod", True),
        ("alice-dev", "prod", True),
        ("prod-weu", "dev", True),
        ("prod", "prod", False),
        ("alice-dev", "dev", False),
        ("perf", "prod", False),
        ("perf", "dev", False),
        ("product", "dev", False),
    ],
)
def test_a_stack_named_after_an_environment_must_configure_it(stack: str, environment: str, refused: bool) -> None:
    raw = with_value(DEV, "environment", [], environment)
    if environment == "prod":
        raw = dict(PROD)
    if not refused:
        assert config.parse(raw, secret_keys=frozenset({"ciSecrets"}), stack=stack).environment == environment
        return
    claimed = config.stack_environment(stack)
    assert _refusal(raw, stack)[-1] == (
        f'  aks-estate:environment = "{environment}": must be "{claimed}" in stack {stack!r}: a stack whose name '
        f"contains {claimed!r} as a word builds that environment (stacks named otherwise may choose either)"
    )


def test_the_stack_rule_is_reported_beside_other_broken_rules() -> None:
    lines = _refusal(with_value(DEV, "namePrefix", [], "A"), stack="prod")
    assert len(lines) == 2
    assert lines[0].startswith('  aks-estate:namePrefix = "A"')
    assert lines[1].startswith('  aks-estate:environment = "dev": must be "prod"')


PAT = "azuredevops:personalAccessToken"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({PAT: "token-value"}, [f"{PAT} = [not shown]: must not sit in the stack file in plain text"]),
        ({PAT: {"secure": "v1:x"}}, []),
        (
            {"aks-estate:ciSecrets": {"a": {"secure": "v1:x"}, "b": "token-value", "c": {"secure": "v1:y"}}},
            ["aks-estate:ciSecrets.b = [not shown]: must be set with `pulumi config set --secret --path"],
        ),
        ({"aks-estate:ciSecrets": {"a": {"secure": "v1:x"}}}, []),
        ({"aks-estate:ciSecrets": {"secure": "v1:whole-map"}}, []),
        ({"aks-estate:ciSecrets": "token-value"}, ["aks-estate:ciSecrets = [not shown]: must be set with"]),
    ],
)
def test_plaintext_secrets_are_named_per_entry(document: dict[str, Any], expected: list[str]) -> None:
    lines = stack_file.plaintext_secrets(document, config_messages.NAMESPACE)
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line
        assert "token-value" not in line


def test_a_plaintext_token_is_refused_on_the_engine_path_too() -> None:
    # What the language host hands over: the key without a secure marker is absent from the secret keys.
    (line,) = stack_file.plaintext_token({PAT: "token-value"}, frozenset())
    assert line.startswith(f"{PAT} = [not shown]: must not sit")
    assert stack_file.plaintext_token({PAT: "token-value"}, frozenset({PAT})) == []
    assert stack_file.plaintext_token({}, frozenset()) == []


def test_the_engine_path_reads_secure_entries_from_the_stack_file(tmp_path: Path) -> None:
    # `pulumi up` hands the program a whole map as secret when any entry is: only the file shows the plaintext one.
    committed = capture.ROOT / "Pulumi.prod.yaml"
    assert stack_file.plaintext_in_file(committed, config_messages.NAMESPACE) == []
    assert stack_file.plaintext_in_file(tmp_path / "Pulumi.absent.yaml", config_messages.NAMESPACE) == []
    document = yaml.safe_load(committed.read_text())
    document["config"]["aks-estate:ciSecrets"] = {"one": {"secure": "v1:x"}, "two": "token-value"}
    mixed = tmp_path / "Pulumi.prod.yaml"
    mixed.write_text(yaml.safe_dump(document))
    (line,) = stack_file.plaintext_in_file(mixed, config_messages.NAMESPACE)
    assert line.startswith("aks-estate:ciSecrets.two = [not shown]: must be set with")
    assert "token-value" not in line


def test_a_ci_secret_named_like_a_served_certificate_is_refused() -> None:
    # The certificate's private key is the vault's secret of its name; CI reads every ciSecret.
    service = {"name": "orders", "expose": "public", "host": "shop.contoso.com", "tlsCertificate": "shop"}
    served = with_value(PROD, "services", [], [service])
    config.parse(with_value(served, "ciSecrets", [], {"other": "x"}), secret_keys=frozenset({"ciSecrets"}))
    assert _refusal(with_value(served, "ciSecrets", [], {"shop": "x"})) == [
        "  aks-estate:ciSecrets.shop = \"shop\": names a service's tlsCertificate: that name is the certificate's "
        "private key, which CI must not read"
    ]


def test_only_the_iac_pool_stack_may_serve_the_iac_project() -> None:
    assert json.loads(PROD["managedAgentPool"]).get("iacProject"), "prod's pool serves the IaC project"
    lines = _refusal({**PROD, "environment": "dev"})
    assert any(
        line.startswith('  aks-estate:managedAgentPool.iacProject = "aks-estate-iac": is for the prod stack')
        for line in lines
    ), lines
