from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components import config, naming
from tests.helpers import prod_as_dev, stack_config, with_value


@pytest.fixture(scope="module")
def prod_raw() -> dict[str, str]:
    return stack_config("prod")


def _with(raw: dict[str, str], key: str, value: Any) -> dict[str, str]:
    return with_value(raw, key, [], value)


def test_committed_stacks_are_valid(prod_raw: dict[str, str]) -> None:
    parsed = config.parse(prod_raw)
    assert parsed.environment == "prod"
    assert [service.name for service in parsed.services] == ["orders"]


def test_unknown_key_is_named(prod_raw: dict[str, str]) -> None:
    with pytest.raises(config.ConfigError, match=r"aks-estate:namePrefx = \"x\""):
        config.parse({**prod_raw, "namePrefx": "x"})


def test_every_error_is_reported_at_once_with_key_value_and_rule(prod_raw: dict[str, str]) -> None:
    broken = _with(_with(prod_raw, "namePrefix", "Contoso"), "logRetentionDays", "7")
    with pytest.raises(config.ConfigError) as error:
        config.parse(broken)
    message = str(error.value)
    assert 'aks-estate:namePrefix = "Contoso": must be 2-10 lowercase letters and digits' in message
    assert 'aks-estate:logRetentionDays = "7": Input should be greater than or equal to 30' in message


@pytest.mark.parametrize(
    ("key", "path", "value", "expected"),
    [
        ("clusters", ["production", "tier"], "Free", 'aks-estate:clusters.production.tier = "Free": a prod stack'),
        ("clusters", ["production", "userPool", "zones"], ["1"], 'clusters.production.userPool.zones = ["1"]'),
        ("registries", ["production", "sku"], "Standard", "registries.production.zoneRedundancy = true: needs sku"),
        ("clusters", ["staging", "systemPool", "minCount"], 9, "clusters.staging.systemPool.minCount = 9: must not"),
        ("clusters", ["staging", "kubernetesVersion"], "1.2", 'clusters.staging.kubernetesVersion = "1.2"'),
        ("clusters", ["staging", "systemPool", "zones"], ["1", "1"], 'systemPool.zones = ["1", "1"]: must not'),
        ("services", [0, "name"], "Orders", 'aks-estate:services[0].name = "Orders"'),
        ("services", [0, "replicas"], 9, "aks-estate:services[0].replicas = 9: must not exceed maxReplicas (5)"),
    ],
)
def test_structured_rules_name_the_nested_key(
    prod_raw: dict[str, str], key: str, path: list[str | int], value: Any, expected: str
) -> None:
    with pytest.raises(config.ConfigError, match=None) as error:
        config.parse(with_value(prod_raw, key, path, value))
    assert expected in str(error.value)


def test_prod_refuses_weakened_key_vault_and_reviews(prod_raw: dict[str, str]) -> None:
    broken = _with(_with(prod_raw, "keyVaultPurgeProtection", "false"), "minimumReviewers", "1")
    with pytest.raises(config.ConfigError) as error:
        config.parse(broken)
    assert "aks-estate:keyVaultPurgeProtection = false: a prod stack's Key Vault keeps purge protection on" in str(
        error.value
    )
    assert "aks-estate:minimumReviewers = 1" in str(error.value)


def test_dev_may_weaken_what_prod_may_not(prod_raw: dict[str, str]) -> None:
    dev = _with(prod_as_dev(prod_raw), "keyVaultPurgeProtection", "false")
    assert config.parse(with_value(dev, "clusters", ["production", "tier"], "Free")).key_vault_purge_protection is False


def test_secret_values_never_appear_in_errors(prod_raw: dict[str, str]) -> None:
    broken = _with(prod_raw, "ciSecrets", {"Bad Name": "hunter2-value"})
    with pytest.raises(config.ConfigError) as error:
        config.parse(broken, secret_keys=frozenset({"ciSecrets"}))
    assert "hunter2-value" not in str(error.value)
    assert "aks-estate:ciSecrets" in str(error.value)


def test_duplicate_services_are_refused(prod_raw: dict[str, str]) -> None:
    with pytest.raises(config.ConfigError, match=r"services\[1\].name = \"orders\": must be unique"):
        config.parse(_with(prod_raw, "services", [{"name": "orders"}, {"name": "orders"}]))


@given(prefix=st.text(min_size=0, max_size=14))
def test_any_prefix_is_either_refused_cleanly_or_yields_valid_names(prefix: str) -> None:
    values = stack_config("dev")
    accepted = True
    try:
        parsed = config.parse({**values, "namePrefix": prefix})
    except config.ConfigError as error:
        accepted = False
        message = str(error)
    if accepted:
        naming.EstateNames(parsed.name_prefix, parsed.environment).all()
    else:
        assert message.startswith(f"invalid stack configuration:\n  aks-estate:namePrefix = {json.dumps(prefix)}")


def test_ci_secrets_in_plaintext_are_refused_without_showing_them(prod_raw: dict[str, str]) -> None:
    with pytest.raises(config.ConfigError) as error:
        config.parse(_with(prod_raw, "ciSecrets", {"integration-api-key": "hunter2-value"}))
    assert "aks-estate:ciSecrets = [not shown]: must be set with `pulumi config set --secret" in str(error.value)
    assert "hunter2-value" not in str(error.value)


def test_an_approver_listed_twice_in_any_case_is_refused(prod_raw: dict[str, str]) -> None:
    approvers = ["dana.release@contoso.com", "Dana.Release@contoso.com"]
    with pytest.raises(config.ConfigError, match=r"productionApprovers\[1\] = \"Dana.Release@contoso.com\": names"):
        config.parse(_with(prod_raw, "productionApprovers", approvers))
