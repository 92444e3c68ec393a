"""The IaC repository's own pipelines: schema-valid, checkov-clean, and gating prod behind dev and an approval."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests import validators
from tools.capture import ROOT

INFRA = ROOT / "pipelines" / "infra"


def _files() -> dict[str, str]:
    return {str(path.relative_to(INFRA)): path.read_text() for path in sorted(INFRA.rglob("*.yml"))}


def _load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((INFRA / name).read_text())
    assert isinstance(document, dict)
    return document


def _steps(template: str) -> list[dict[str, Any]]:
    return list(_load(f"templates/{template}")["steps"])


@pytest.mark.validators
def test_schema_valid_and_checkov_clean() -> None:
    files = _files()
    validators.check_jsonschema_azure_pipelines(files)
    validators.checkov_azure_pipelines(files)


def test_pull_requests_verify_then_preview_both_stacks_with_the_policy_pack() -> None:
    pipeline = _load("pr.azure-pipelines.yml")
    assert pipeline["trigger"] == "none"
    verify, preview = pipeline["stages"]
    assert verify["jobs"][0]["steps"] == [{"template": "templates/verify.yml"}]
    assert preview["dependsOn"] == "Verify"
    job = preview["jobs"][0]
    assert {entry["stack"] for entry in job["strategy"]["matrix"].values()} == {"dev", "prod"}
    pulumi_step = next(step for step in job["steps"] if step.get("template") == "templates/pulumi.yml")
    assert pulumi_step["parameters"]["command"] == "preview"
    script = next(step for step in _steps("pulumi.yml") if step.get("task") == "AzureCLI@2")["inputs"]["inlineScript"]
    assert "--policy-pack policy" in script
    assert "##vso[task.uploadsummary]" in script


def test_merges_deploy_dev_then_prod_through_environments() -> None:
    pipeline = _load("deploy.azure-pipelines.yml")
    assert pipeline["trigger"]["branches"]["include"] == ["main"]
    assert pipeline["pr"] == "none"
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    assert list(stages) == ["Verify", "Dev", "Prod"]
    assert stages["Prod"]["dependsOn"] == "Dev"
    environments = [stages[name]["jobs"][0]["environment"] for name in ("Dev", "Prod")]
    assert environments == ["aks-estate-iac-dev", "aks-estate-iac-prod"]
    for name, stack in (("Dev", "dev"), ("Prod", "prod")):
        steps = stages[name]["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]
        pulumi_step = next(step for step in steps if step.get("template") == "templates/pulumi.yml")
        assert pulumi_step["parameters"]["command"] == "up"
        assert pulumi_step["parameters"]["stack"] == stack


def test_authentication_is_workload_identity_federation_only() -> None:
    steps = _steps("pulumi.yml")
    azure_cli = next(step for step in steps if step.get("task") == "AzureCLI@2")
    # The federated token lives ten minutes; the task renews the session it signs in with for longer updates.
    assert azure_cli["inputs"]["keepAzSessionActive"] is True
    text = (INFRA / "templates" / "pulumi.yml").read_text()
    for credential in ("ARM_CLIENT_SECRET", "ARM_OIDC_TOKEN", "AZDO_PERSONAL_ACCESS_TOKEN", "personalAccessToken"):
        assert credential not in text
    assert any(step.get("task") == "KubeloginInstaller@0" for step in steps)


def test_previews_and_each_stack_use_their_own_identity() -> None:
    preview = _load("pr.azure-pipelines.yml")["parameters"]
    deploy = {
        parameter["name"]: parameter["default"] for parameter in _load("deploy.azure-pipelines.yml")["parameters"]
    }
    assert [parameter["default"] for parameter in preview] == ["aks-estate-iac-preview"]
    assert deploy == {"devServiceConnection": "aks-estate-iac-dev", "prodServiceConnection": "aks-estate-iac-prod"}


def test_ci_runs_what_the_readme_and_ci_script_run() -> None:
    commands = [step.get("script", "") for step in _steps("verify.yml")]
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert ".venv/bin/mypy" in commands
    assert ".venv/bin/mypy" in ci_script
    assert any(command.startswith(".venv/bin/python -m pytest") for command in commands)
