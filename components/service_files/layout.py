"""Where everything lives: repository paths, artifact names, template paths, stage names and the values pipelines and
manifests must agree on. Constants only."""

from __future__ import annotations

from pathlib import Path

# The task CI's scan runs; its extension is installed or adopted by components/devops/project.py.
SECURITY_SCAN_TASK = "MicrosoftSecurityDevOps@1"

PR_PIPELINE_PATH = "pipelines/pr.azure-pipelines.yml"
CI_PIPELINE_PATH = "pipelines/ci.azure-pipelines.yml"
CD_PIPELINE_PATH = "pipelines/cd.azure-pipelines.yml"
PIPELINE_TEMPLATES_PATH = "pipelines/templates"
# The directory CI publishes as the `manifests` artifact. It holds one manifest per cluster because KubernetesManifest
# only substitutes an image whose name (registry included) equals the name in its `containers` input: staging pulls
# from the non-prod registry, production from the prod registry, so each manifest names its own registry.
KUBERNETES_MANIFEST_PATH = "deploy/kubernetes"
STAGING_MANIFEST = "staging.yaml"
PRODUCTION_MANIFEST = "production.yaml"

# Alias of the CI pipeline resource in CD; `image-digest.yml` and `deploy-aks.yml` download from it by this name.
CI_RESOURCE = "ci"
WHEEL_ARTIFACT = "wheel"
MANIFESTS_ARTIFACT = "manifests"
IMAGE_ARTIFACT = "image"
IMAGE_DIGEST_FILE = "digest.txt"
# A tag CI never pushes (CI tags images with the numeric build ID): applied as is, outside the pipeline, the manifest
# fails to pull instead of running some other image. KubernetesManifest replaces the reference whose name equals its
# `containers` entry with `<repository>@<digest>`; the digest exists only once CI has pushed the image.
UNPINNED_IMAGE_TAG = "set-by-pipeline"
# The UID/GID the container runs as; above 10000 so it maps to no user of the node (checkov CKV_K8S_40).
RUN_AS_ID = 10001
KUBELOGIN_VERSION = "0.2.14"
# The Kubernetes secret the stack writes into every service namespace (components/devops/kubernetes.py) and where
# the Deployment mounts it; the service reads the file named by APPLICATIONINSIGHTS_CONNECTION_STRING_FILE.
APPINSIGHTS_SECRET_NAME = "appinsights"
APPINSIGHTS_KEY = "connection-string"
APPINSIGHTS_MOUNT = "/var/run/secrets/appinsights"
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
# The AKS application routing add-on (managed NGINX): its controllers run in this namespace, its default controller
# serves this class publicly, and the stack adds an internal-load-balancer controller of its own class where a service
# asks for one (learn.microsoft.com/azure/aks/app-routing, app-routing-nginx-configuration).
INGRESS_NAMESPACE = "app-routing-system"
PUBLIC_INGRESS_CLASS = "webapprouting.kubernetes.azure.com"
INTERNAL_INGRESS_CLASS = "nginx-internal"
# The add-on reads a Key Vault certificate named by this annotation into the Ingress's TLS secret `keyvault-<name>`.
TLS_CERTIFICATE_ANNOTATION = "kubernetes.azure.com/tls-cert-keyvault-uri"

TEMPLATE_SOURCE_DIR = Path(__file__).resolve().parents[2] / "pipelines" / "service" / "templates"
PYTHON_SETUP_TEMPLATE = "templates/python-setup.yml"
PYTHON_BUILD_TEMPLATE = "templates/python-build.yml"
DEPLOY_TEMPLATE = "templates/deploy-aks.yml"
KUBELOGIN_TEMPLATE = "templates/kubelogin.yml"
CONTAINER_TESTS_TEMPLATE = "templates/container-tests.yml"
CAPTURE_DIGEST_TEMPLATE = "templates/capture-digest.yml"
ACCEPTANCE_TEMPLATE = "templates/acceptance-tests.yml"
PROMOTE_TEMPLATE = "templates/promote.yml"
# The Dockerfile stages a `build: container` service provides (README, "The service contract").
UNIT_RESULTS_STAGE = "test-results"
INTEGRATION_RESULTS_STAGE = "integration-test-results"
ACCEPTANCE_STAGE = "acceptance"
CI_RUN_ID = f"$(resources.pipeline.{CI_RESOURCE}.runID)"
MAIN_BRANCH = "main"
HEADER = "# Managed by the aks-estate Pulumi stack (pipelines/service/, components/devops/): change it there.\n"
# Wide enough that PyYAML never folds a scalar: every value stays on one line, as a reviewer reads it.
YAML_WIDTH = 4096
