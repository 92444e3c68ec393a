"""Every input of every resource in both stacks matches the installed provider SDKs' own input types."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pulumi.runtime import rpc

from tools import capture, provider_schema


def _wire(resource: capture.Registration) -> dict[str, Any]:
    return resource.wire_inputs


def test_both_stacks_conform_to_the_provider_schemas(dev: capture.Capture, prod: capture.Capture) -> None:
    findings = [*provider_schema.check(dev.resources, _wire), *provider_schema.check(prod.resources, _wire)]
    assert not findings, "\n".join(map(str, findings))


def test_every_custom_resource_type_resolves_to_an_sdk_input_type(dev: capture.Capture, prod: capture.Capture) -> None:
    tokens = {r.type for r in (*dev.resources, *prod.resources) if r.custom}
    assert {t for t in tokens if provider_schema.args_class(t) is None} == set()
    # The two families the estate uses, each read from its own SDK package. The one Kubernetes object, the internal
    # ingress controller, is a custom resource of the AKS add-on, which no SDK types.
    assert {t.split(":")[0] for t in tokens} == {"azure-native", "azuredevops"}


def _planted(stack: capture.Capture, name: str, mutate: Callable[[dict[str, Any]], None]) -> list[str]:
    """Findings for a copy of one real inventory entry with one mistake planted in it."""
    resource = stack.named(name)
    inputs = copy.deepcopy(resource.wire_inputs)
    assert not provider_schema.check_resource(resource.urn, resource.type, inputs)
    mutate(inputs)
    return [str(f) for f in provider_schema.check_resource(resource.urn, resource.type, inputs)]


def _rename(mapping: dict[str, Any], old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


def test_a_misspelled_nested_key_is_caught(dev: capture.Capture) -> None:
    findings = _planted(
        dev,
        "estate-cluster-staging-aks",
        lambda i: _rename(i["agentPoolProfiles"][0], "enableAutoScaling", "enableAutoscaling"),
    )
    assert len(findings) == 1, findings
    (finding,) = findings
    assert "estate-cluster-staging-aks" in finding
    assert "agentPoolProfiles[0].enableAutoscaling: unknown property 'enableAutoscaling'" in finding
    assert "did you mean 'enableAutoScaling'" in finding
    assert "ManagedClusterAgentPoolProfileArgs" in finding


def test_a_snake_case_key_is_caught_at_any_depth(dev: capture.Capture) -> None:
    def plant(inputs: dict[str, Any]) -> None:
        _rename(inputs["properties"], "enableRbacAuthorization", "enable_rbac_authorization")

    (finding,) = _planted(dev, "estate-key-vault-vault", plant)
    assert "estate-key-vault-vault: properties.enable_rbac_authorization:" in finding
    assert "the wire name 'enableRbacAuthorization' (VaultPropertiesArgs)" in finding


def test_a_snake_case_key_on_a_devops_resource_is_caught(dev: capture.Capture) -> None:
    (finding,) = _planted(
        dev, "estate-devops-orders-pipelines-ci", lambda i: _rename(i["repository"], "ymlPath", "yml_path")
    )
    assert "estate-devops-orders-pipelines-ci: repository.yml_path: 'yml_path' is the Python name" in finding
    assert "the wire name 'ymlPath' (BuildDefinitionRepositoryArgs)" in finding


def test_a_wrong_closed_enum_value_is_caught(dev: capture.Capture) -> None:
    (finding,) = _planted(dev, "estate-key-vault-vault", lambda i: i["properties"]["sku"].update(name="Standard"))
    assert "estate-key-vault-vault: properties.sku.name:" in finding
    assert '"Standard" is not a value of the closed enum SkuName' in finding
    assert "one of 'standard', 'premium'" in finding


def test_a_missing_required_property_is_caught(dev: capture.Capture) -> None:
    (finding,) = _planted(dev, "estate-key-vault-vault", lambda i: i["properties"].pop("tenantId"))
    assert "estate-key-vault-vault: properties.tenantId: required property missing" in finding
    assert "a string (VaultPropertiesArgs)" in finding

    # null is "absent" only where the annotation admits None.
    (finding,) = _planted(dev, "estate-key-vault-vault", lambda i: i["properties"].update(tenantId=None))
    assert "properties.tenantId: null; the provider expects a string" in finding
    assert not _planted(dev, "estate-key-vault-vault", lambda i: i["properties"].update(enablePurgeProtection=None))


def test_a_wrong_value_type_is_caught(dev: capture.Capture) -> None:
    (finding,) = _planted(dev, "estate-cluster-staging-aks", lambda i: i["agentPoolProfiles"][0].update(maxCount="3"))
    assert 'estate-cluster-staging-aks: agentPoolProfiles[0].maxCount: "3" has the wrong type' in finding
    assert "an integer" in finding


def test_a_mistake_inside_a_secret_is_caught(dev: capture.Capture) -> None:
    """Secrets are checked inside their wrapper, not waved through as "[secret]"."""
    resource = dev.of_type("azure-native:keyvault:Secret")[0]
    assert rpc.is_rpc_secret(resource.wire_inputs["properties"])

    def plant(inputs: dict[str, Any]) -> None:
        _rename(inputs["properties"]["value"], "value", "valu")

    findings = _planted(dev, resource.name, plant)
    assert any("properties.valu: unknown property" in f for f in findings), findings


def test_a_discriminated_union_member_is_chosen_by_the_constant_its_sdk_sets(prod: capture.Capture) -> None:
    """`offerings[]` may be any of 19 offering types told apart only by `offeringType`, a constant each member's
    `__init__` sets while its annotation says `str`."""
    connector = "estate-defender-devops-connector"
    (finding,) = _planted(prod, connector, lambda i: i["offerings"][0].update(offeringType="CspmMonitorAzureDevops"))
    assert f"{connector}: offerings[0]: " in finding
    assert "names no member of the union by offeringType" in finding
    assert "'CspmMonitorAzureDevOps'" in finding

    # A key the named member does not have is reported against that member, not against the closest stranger.
    (finding,) = _planted(prod, connector, lambda i: i["offerings"][0].update(organizations=["contoso"]))
    assert "offerings[0].organizations: unknown property" in finding
    assert "CspmMonitorAzureDevOpsOfferingArgs" in finding

    (finding,) = _planted(prod, connector, lambda i: i["environmentData"].update(environmentType="GithubScop"))
    assert "environmentData: " in finding
    assert "'GithubScope'" in finding


def test_a_type_no_installed_sdk_registers_is_a_finding() -> None:
    (finding,) = provider_schema.check_resource("urn:x", "azure-native:containerservice:ManagedClustr", {})
    assert "no installed SDK registers 'azure-native:containerservice:ManagedClustr'" in finding.problem


def test_an_unknown_stands_for_a_value_of_any_type() -> None:
    """In a preview an output not yet known is sent as rpc.UNKNOWN whatever its type."""
    inputs = {
        "resourceGroupName": rpc.UNKNOWN,
        "properties": {"tenantId": rpc.UNKNOWN, "sku": rpc.UNKNOWN, "softDeleteRetentionInDays": rpc.UNKNOWN},
    }
    assert not provider_schema.check_resource("urn:x", "azure-native:keyvault:Vault", inputs)
