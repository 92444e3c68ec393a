"""aks-estate: CI/CD for microservices on AKS with Azure Pipelines, as one Pulumi stack."""

import pulumi

from components import config
from components.estate import Estate
from components.outputs import stack_outputs
from components.type_aliases import drop_api_version_aliases

settings = config.from_pulumi()
pulumi.runtime.register_stack_transformation(drop_api_version_aliases)
estate = Estate("estate", settings)

for name, value in stack_outputs(estate).items():
    pulumi.export(name, value)
