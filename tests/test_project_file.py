from __future__ import annotations

import json
import re

import jsonschema
import yaml

from components import config, config_parts
from components.config import EstateConfig
from components.service_files.layout import KUBELOGIN_VERSION
from tools.capture import ROOT

# Pulumi's own project schema (pulumi/pulumi, sdk/go/common/workspace/project.json), vendored unchanged.
SCHEMA = ROOT / "tests" / "reference" / "pulumi-project.schema.json"


def test_pulumi_yaml_obeys_pulumis_project_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(yaml.safe_load((ROOT / "Pulumi.yaml").read_text()), schema)


def test_every_declared_key_is_one_the_config_model_reads() -> None:
    declared = {key.removeprefix("aks-estate:") for key in yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]}
    known = {field.alias or name for name, field in EstateConfig.model_fields.items()}
    assert declared <= known, declared - known


def test_a_stack_made_by_pulumi_new_needs_only_the_prompted_keys_and_the_quickstart_ones() -> None:
    template = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["template"]["config"]
    prompted = {key.removeprefix("aks-estate:"): item.get("default", "example") for key, item in template.items()}
    answers = {key: value for key, value in prompted.items() if ":" not in key}
    answers |= {"namePrefix": "myorg", "devopsOrganization": "myorg", "iacPreviewIdentity": "aadsp.ZXhhbXBsZS1pZA"}
    answers |= {"adminGroupObjectIds": '["6f1b3a52-9c4e-4d8a-b1f0-2e7c5d9a8b41"]', "productionApprovers": '["a@b.co"]'}
    assert config.parse({**answers, "environment": "dev"}).environment == "dev"
    # A prod stack is private (its vault answers inside the estate network only), so it also builds the Managed
    # DevOps Pool CI runs on, inside that network.
    prod = {
        **answers,
        "environment": "prod",
        "managedAgentPool": json.dumps(
            {"maximumConcurrency": 4, "devopsInfrastructureObjectId": "3c1f5e2a-7b94-4d08-a6e1-59f2c0d4b8e7"}
        ),
    }
    assert config.parse(prod).network.private
    quickstart = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["template"]["quickstart"]
    assert "pulumi config set --path 'managedAgentPool.devopsInfrastructureObjectId'" in quickstart
    assert "'managedAgentPool.maximumConcurrency'" in quickstart


def _declared() -> dict[str, dict[str, object]]:
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return {key.removeprefix("aks-estate:"): value for key, value in document["config"].items()}


def test_every_key_the_cli_requires_is_set_by_every_stack() -> None:
    # Pulumi refuses a stack that lacks a project-declared key without a default.
    required = {key for key, declaration in _declared().items() if "default" not in declaration}
    assert required
    for stack_file in sorted(ROOT.glob("Pulumi.*.yaml")):
        stack_keys = {key.removeprefix("aks-estate:") for key in yaml.safe_load(stack_file.read_text())["config"]}
        assert required <= stack_keys, f"{stack_file.name} lacks {sorted(required - stack_keys)}"


def test_declared_defaults_are_the_config_models_own() -> None:
    fields = {field.alias: field for field in EstateConfig.model_fields.values()}
    for key, declaration in _declared().items():
        if "default" in declaration:
            assert fields[key].default == declaration["default"], key


def test_settings_that_differ_between_environments_are_not_given_a_project_default() -> None:
    # A project default would reach the model as if the stack had set it, overriding the per-environment profile.
    profiled = {key for profile in config_parts.PROFILE_DEFAULTS.values() for key in profile}
    assert not profiled & {key for key, declaration in _declared().items() if "default" in declaration}


def _pin(text: str, pattern: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    assert match, pattern
    return match.group(1)


def test_one_pulumi_and_one_kubelogin_version_everywhere() -> None:
    # The lock continues each pin onto its hash lines.
    sdk = _pin((ROOT / "requirements.txt").read_text(), r"^pulumi==(\S+) \\$")
    assert _pin((ROOT / "policy" / "requirements.txt").read_text(), r"^pulumi==(\S+)$") == sdk
    infra = (ROOT / "pipelines" / "infra" / "templates" / "pulumi.yml").read_text()
    cli = (ROOT / "pipelines" / "infra" / "templates" / "pulumi-cli.yml").read_text()
    assert _pin(cli, r'name: version\n\s+type: string\n\s+default: "(\S+)"') == sdk
    assert _pin(infra, r'name: kubeloginVersion\n\s+type: string\n\s+default: "(\S+)"') == KUBELOGIN_VERSION
