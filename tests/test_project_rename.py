"""`pulumi new --name <anything>` from this repository: Pulumi.yaml passes the CLI's project validation under any
project name, and the program reads its config in the namespace of the project that runs it."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
import yaml

from components import config
from tools.capture import ROOT


def project_errors(project_name: str, declared: dict[str, dict[str, Any]]) -> list[str]:
    """pulumi/pulumi sdk/go/common/workspace/project.go, `Project.Validate` (which `Project.Save`, called by
    `pulumi new`, asserts with contract.Requiref, so a failure is a panic): a key is namespaced by the project when it
    has no `:` or starts with `<project>:` (configKeyIsNamespacedByProject); any other key may not declare a type or a
    default and must declare a `value`. Typed arrays need `items`. (Checking a default against its type is left to
    tests/test_project_file.py's schema and default tests.)"""
    errors = []
    for key, declaration in declared.items():
        if "default" in declaration and "value" in declaration:
            errors.append(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if ":" not in key or key.startswith(f"{project_name}:"):
            if declaration.get("type") == "array" and "items" not in declaration:
                errors.append(f"The configuration key '{key}' declares an array but does not specify 'items'")
        elif "type" in declaration:
            errors.append(f"Configuration key '{key}' is not namespaced by the project and should not define a type")
        elif "default" in declaration:
            errors.append(f"Configuration key '{key}' is not namespaced by the project and should not define a default")
        elif "value" not in declaration:
            errors.append(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")
    return errors


def _declared() -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])


@pytest.mark.parametrize("name", ["aks-estate", "my-estate", "contoso-platform"])
def test_pulumi_yaml_validates_under_any_project_name(name: str) -> None:
    assert project_errors(name, _declared()) == []


def test_a_key_namespaced_by_this_repositorys_name_is_refused_once_renamed() -> None:
    declared = {"aks-estate:namePrefix" if key == "namePrefix" else key: value for key, value in _declared().items()}
    # It passes under the original name, which is why only `pulumi new --name` found it.
    assert project_errors("aks-estate", declared) == []
    assert project_errors("my-estate", declared) == [
        "Configuration key 'aks-estate:namePrefix' is not namespaced by the project and should not define a type"
    ]


def test_template_keys_without_a_namespace_become_the_new_projects() -> None:
    # newcmd/config.go parses each template key with ParseConfigKeyForProject: a key without `:` gets the project's
    # namespace. Every key the program reads must be such a key; provider keys keep their own namespace.
    template = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["template"]["config"]
    assert {key.split(":", 1)[0] for key in template if ":" in key} <= {"azuredevops", "azure-native"}
    assert "namePrefix" in template


class _NoResources(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return None, {}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.mark.parametrize(("project", "other"), [("my-estate", "aks-estate"), ("aks-estate", "my-estate")])
def test_the_program_reads_the_namespace_of_the_project_that_runs_it(
    project: str, other: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The language host's config arrives in these variables too; an earlier capture in this process may have set them.
    monkeypatch.setenv("PULUMI_CONFIG", "{}")
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", "[]")
    values = {
        "environment": "dev",
        "namePrefix": "myorg",
        "location": "westeurope",
        "adminGroupObjectIds": '["6f1b3a52-9c4e-4d8a-b1f0-2e7c5d9a8b41"]',
        "devopsOrganization": "myorg",
        "devopsProject": "estate",
        "iacPreviewIdentity": "aadsp.ZXhhbXBsZS1pZA",
        "productionApprovers": '["a@b.co"]',
    }
    pulumi.runtime.set_mocks(_NoResources(), project=project, stack="sandbox", preview=False)
    try:
        pulumi.runtime.set_all_config({f"{project}:{key}": value for key, value in values.items()})
        assert config.from_pulumi().name_prefix == "myorg"
        # Planted mistake: the same keys under another project's namespace are not this project's config.
        pulumi.runtime.set_all_config({f"{other}:{key}": value for key, value in values.items()})
        with pytest.raises(config.ConfigError, match="namePrefix"):
            config.from_pulumi()
    finally:
        pulumi.runtime.set_all_config({})
