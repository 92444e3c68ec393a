from __future__ import annotations

import json

import jsonschema
import yaml

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
