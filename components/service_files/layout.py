"""Where everything lives: repository paths, artifact names, template paths, stage names and the values pipelines and
manifests must agree on. Constants only."""

from __future__ import annotations

from pathlib import Path

# The task CI's scan runs; its extension is installed or adopted by components/devops/project.py.
SECURITY_SCAN_TASK = "MicrosoftSecurityDevOps@1"

# The entry pipelines in every service repository: triggers, the templates repository at its release, the parameters.
PR_PIPELINE_PATH = "pipelines/pr.azure-pipelines.yml"
CI_PIPELINE_PATH = "pipelines/ci.azure-pipelines.yml"
CD_PIPELINE_PATH = "pipelines/cd.azure-pipelines.yml"
ENTRY_PIPELINES = (PR_PIPELINE_PATH, CI_PIPELINE_PATH, CD_PIPELINE_PATH)
# The pipeline templates repository (components/devops/platform.py): the alias entry pipelines give it, the ref they
# read it at, which the stack moves only when `templatesRelease` changes, and where things live in it.
TEMPLATES_ALIAS = "templates"
TEMPLATES_RELEASE_REF = "refs/heads/release"
STAGE_TEMPLATES_PATH = "pipelines"
STEP_TEMPLATES_PATH = "pipelines/steps"
MANIFEST_RENDERER = "manifests/render.py"
TEMPLATES_VALIDATION_PIPELINE = "pipelines/validate.azure-pipelines.yml"
# What that validation pipeline extends, read at the release ref like every service pipeline's template.
TEMPLATES_VALIDATION_TEMPLATE = "pipelines/validate.yml"
# Both clusters' manifests, rendered by CI and published as the `manifests` artifact: each names its own registry,
# because KubernetesManifest only substitutes an image whose name (registry included) equals its `containers` input.
STAGING_MANIFEST = "staging.yaml"
PRODUCTION_MANIFEST = "production.yaml"

# Alias of the CI pipeline resource in CD; `image-digest.yml` and `deploy-aks.yml` download from it by this name.
CI_RESOURCE = "ci"
WHEEL_ARTIFACT = "wheel"
MANIFESTS_ARTIFACT = "manifests"
IMAGE_ARTIFACT = "image"
IMAGE_DIGEST_FILE = "digest.txt"
# The UID/GID the container runs as; above 10000 so it maps to no user of the node (checkov CKV_K8S_40).
RUN_AS_ID = 10001
KUBELOGIN_VERSION = "0.2.14"
# Set where telemetry must sign in with Microsoft Entra ID (the pods, CI's integration tests); the starter's exporter
# then uses DefaultAzureCredential instead of the connection string's key.
TELEMETRY_AUTHENTICATION = "TELEMETRY_AUTHENTICATION"

# What the stack commits to the templates repository from this checkout, verbatim.
PLATFORM_SOURCE_DIR = Path(__file__).resolve().parents[2] / "pipelines" / "platform"
# Step templates, as the stage templates in `pipelines/` include them.
PYTHON_SETUP_TEMPLATE = "steps/python-setup.yml"
PYTHON_BUILD_TEMPLATE = "steps/python-build.yml"
DEPLOY_TEMPLATE = "steps/deploy-aks.yml"
KUBELOGIN_TEMPLATE = "steps/kubelogin.yml"
CONTAINER_TESTS_TEMPLATE = "steps/container-tests.yml"
CAPTURE_DIGEST_TEMPLATE = "steps/capture-digest.yml"
ACCEPTANCE_TEMPLATE = "steps/acceptance-tests.yml"
PROMOTE_TEMPLATE = "steps/promote.yml"
# The Dockerfile stages a `build: container` service provides (README, "The service contract").
UNIT_RESULTS_STAGE = "test-results"
INTEGRATION_RESULTS_STAGE = "integration-test-results"
ACCEPTANCE_STAGE = "acceptance"
CI_RUN_ID = f"$(resources.pipeline.{CI_RESOURCE}.runID)"
MAIN_BRANCH = "main"
HEADER = "# Managed by the aks-estate Pulumi stack (pipelines/platform/, components/devops/): change it there.\n"
# Wide enough that PyYAML never folds a scalar: every value stays on one line, as a reviewer reads it.
YAML_WIDTH = 4096
