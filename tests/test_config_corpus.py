"""A corpus of invalid stack configurations, each with the message it must produce, and hostile values for every key.

Each case changes one thing in the committed prod (or dev) stack config. The message must name the key, show the
value and state the rule; nothing is registered because config is parsed before the estate exists
(test_offline_preview.py proves that end to end).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components import config, naming
from tools import capture

Change = tuple[str, list[str | int], Any]


def _raw(stack: str) -> dict[str, str]:
    raw, _ = capture.load_stack_config(capture.ROOT / f"Pulumi.{stack}.yaml")
    return {key.removeprefix("aks-estate:"): value for key, value in raw.items() if key.startswith("aks-estate:")}


PROD, DEV = _raw("prod"), _raw("dev")


def _apply(base: dict[str, str], key: str, path: list[str | int], value: Any) -> dict[str, str]:
    changed = dict(base)
    if not path:
        changed[key] = value if isinstance(value, str) else json.dumps(value)
        return changed
    document = json.loads(changed[key])
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    changed[key] = json.dumps(document)
    return changed


# (stack, key, path inside the key, new value, expected fragment of the message)
CORPUS: list[tuple[str, str, list[str | int], Any, str]] = [
    ("prod", "environment", [], "staging", "aks-estate:environment = \"staging\": Input should be 'dev' or 'prod'"),
    ("prod", "namePrefix", [], "a", 'aks-estate:namePrefix = "a": String should match pattern'),
    ("prod", "namePrefix", [], "contoso-x", 'aks-estate:namePrefix = "contoso-x": String should match pattern'),
    ("prod", "namePrefix", [], "averyverylongprefix", 'aks-estate:namePrefix = "averyverylongprefix"'),
    ("prod", "namePrefix", [], "9lives", 'aks-estate:namePrefix = "9lives": String should match pattern'),
    ("prod", "location", [], "West Europe", 'aks-estate:location = "West Europe": String should match pattern'),
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
        'systemPool.vmSize = "D4s_v5": String should match',
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
    ("prod", "registries", ["nonProduction", "sku"], "Basic", 'registries.nonProduction.sku = "Basic": a prod'),
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
        'aks-estate:services[0].name = "orders_api": String should match pattern',
    ),
    ("prod", "services", [0, "name"], "a--b", 'aks-estate:services[0].name = "a--b": String should match pattern'),
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
    ("prod", "keyVaultAllowedIpRanges", [], [], "aks-estate:keyVaultAllowedIpRanges = []: must list the agent pool"),
    ("prod", "agentPool", [], "pool/with/slashes", 'aks-estate:agentPool = "pool/with/slashes": String should match'),
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
    ("prod", "defenderPlans", [], "maybe", 'aks-estate:defenderPlans = "maybe": Input should be a valid boolean'),
    (
        "prod",
        "devopsOrganization",
        [],
        "-contoso",
        'aks-estate:devopsOrganization = "-contoso": String should match pattern',
    ),
    ("prod", "devopsProject", [], "a/b", 'aks-estate:devopsProject = "a/b": String should match pattern'),
    (
        "prod",
        "productionApprovers",
        [],
        ["not-an-email"],
        'aks-estate:productionApprovers[0] = "not-an-email": String should match',
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
    ("prod", "ciSecrets", [], {"appinsights-connection-string": "x"}, "is a reserved secret name"),
    ("prod", "ciSecrets", [], {"Bad_Name": "x"}, "aks-estate:ciSecrets"),
    ("prod", "nmePrefix", [], "contoso", 'aks-estate:nmePrefix = "contoso": is not a setting this stack knows'),
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
        config.parse(_apply(base, key, path, value), secret_keys=frozenset({"ciSecrets"}))
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
