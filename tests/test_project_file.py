from __future__ import annotations

import json

import jsonschema
import yaml

from components import config
from components.config import EstateConfig
from tools.capture import ROOT

# Pulumi's own project schema (pulumi/pulumi, sdk/go/common/workspace/project.json), kept in shared/ beside the repo.
SCHEMA = ROOT.parent / "shared" / "reference" / "pulumi-project.schema.json"


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
    answers |= {"namePrefix": "myorg", "devopsOrganization": "myorg"}
    answers |= {"adminGroupObjectIds": '["6f1b3a52-9c4e-4d8a-b1f0-2e7c5d9a8b41"]', "productionApprovers": '["a@b.co"]'}
    assert config.parse({**answers, "environment": "dev"}).environment == "dev"
    # A prod stack keeps its vault closed, so it also names the agent pool CI runs on and that pool's egress.
    prod = {**answers, "environment": "prod", "agentPool": "agents", "keyVaultAllowedIpRanges": '["20.50.0.0/24"]'}
    assert config.parse(prod).environment == "prod"
    quickstart = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["template"]["quickstart"]
    assert "aks-estate:agentPool" in quickstart
    assert "aks-estate:keyVaultAllowedIpRanges" in quickstart
