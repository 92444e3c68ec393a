"""aks-estate-bootstrap: what the IaC pipelines need before the estate's first deployment (README, Bootstrap)."""

import sys
from pathlib import Path

# Pulumi runs this file from bootstrap/; the program shares the estate's components, one directory up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from bootstrap import config
from bootstrap.program import Bootstrap
from components.type_aliases import drop_api_version_aliases

settings = config.from_pulumi()
pulumi.runtime.register_stack_transformation(drop_api_version_aliases)
bootstrap = Bootstrap("bootstrap", settings)
pulumi.export("stateAccount", bootstrap.state_account)
pulumi.export("keyVault", bootstrap.key_vault)
pulumi.export("repositoryUrl", bootstrap.remote_url)
pulumi.export("identityClientIds", bootstrap.identity_client_ids)
pulumi.export("pipelineDefinitionIds", bootstrap.definition_ids)
pulumi.export("previewIdentityDescriptors", bootstrap.preview_descriptors)
