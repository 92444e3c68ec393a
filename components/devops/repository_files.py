"""The files the stack commits into each microservice's Azure Repos repository.

Three entry pipelines (PR build validation, CI, CD), the step and job templates they share, and the Kubernetes
manifests CD deploys. The templates are static files under `pipelines/service/templates/`, committed verbatim, so one
set serves every service; entry pipelines and manifests carry per-service values and are built here as Python data and
serialized with PyYAML. Pure Python, no Pulumi: tests and the offline preview call it directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml

from components.naming import APPINSIGHTS_SECRET, ServiceNames

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

_TEMPLATE_SOURCE_DIR = Path(__file__).resolve().parents[2] / "pipelines" / "service" / "templates"
_PYTHON_SETUP_TEMPLATE = "templates/python-setup.yml"
_PYTHON_BUILD_TEMPLATE = "templates/python-build.yml"
_DEPLOY_TEMPLATE = "templates/deploy-aks.yml"
_KUBELOGIN_TEMPLATE = "templates/kubelogin.yml"
_CONTAINER_TESTS_TEMPLATE = "templates/container-tests.yml"
_CAPTURE_DIGEST_TEMPLATE = "templates/capture-digest.yml"
_ACCEPTANCE_TEMPLATE = "templates/acceptance-tests.yml"
_PROMOTE_TEMPLATE = "templates/promote.yml"
# The Dockerfile stages a `build: container` service provides (README, "The service contract").
UNIT_RESULTS_STAGE = "test-results"
INTEGRATION_RESULTS_STAGE = "integration-test-results"
ACCEPTANCE_STAGE = "acceptance"
_CI_RUN_ID = f"$(resources.pipeline.{CI_RESOURCE}.runID)"
_MAIN_BRANCH = "main"
_HEADER = "# Managed by the aks-estate Pulumi stack (pipelines/service/, components/devops/): change it there.\n"
# Wide enough that PyYAML never folds a scalar: every value stays on one line, as a reviewer reads it.
_YAML_WIDTH = 4096

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_LABEL_MAX = 63
_MIN_UNPRIVILEGED_PORT = 1024
_MAX_PORT = 65535
_QUANTITY = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?)(?P<suffix>m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_QUANTITY_FACTORS: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    **{suffix: Decimal(1000) ** power for power, suffix in enumerate("kMGTPE", start=1)},
    **{f"{suffix}i": Decimal(1024) ** power for power, suffix in enumerate("KMGTPE", start=1)},
}
# Key Vault secret names: alphanumerics and '-'; a leading letter keeps the derived environment variable name valid.
_SECRET_NAME = re.compile(r"^[A-Za-z][0-9A-Za-z-]{0,126}$")
# Environment variables that libraries read under a fixed name; every other secret becomes its UPPER_SNAKE form.
_SECRET_ENV_OVERRIDES = {APPINSIGHTS_SECRET: "APPLICATIONINSIGHTS_CONNECTION_STRING"}


@dataclass(frozen=True)
class ServiceSpec:
    """One microservice: its name is also its repository, its Kubernetes namespace and its image repository."""

    name: str
    port: int = 8080
    replicas: int = 2
    max_replicas: int = 5
    cpu_request: str = "100m"
    cpu_limit: str = "500m"
    memory_request: str = "128Mi"
    memory_limit: str = "256Mi"
    # How CI builds and tests it: the Python toolchain on the agent, or the Dockerfile's own stages (any language).
    build: Literal["python", "container"] = "python"
    # Traffic in: through the application routing add-on's public or internal controller; None keeps it in-cluster.
    expose: Literal["public", "internal"] | None = None
    host: str | None = None
    # A Key Vault certificate's URI (`https://<vault>.vault.azure.net/certificates/<name>`), served for `host`.
    tls_certificate_uri: str | None = None
    # Traffic between services: the (name, port) of each service this one calls, and the names of those calling it.
    calls: tuple[tuple[str, int], ...] = ()
    callers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.name) > _DNS_LABEL_MAX or not _DNS_LABEL.match(self.name):
            raise ValueError(
                f"ServiceSpec.name: {self.name!r} must be a DNS-1123 label (1-63 lowercase alphanumerics and '-', "
                "starting and ending with an alphanumeric): it names the Kubernetes namespace"
            )
        if not _MIN_UNPRIVILEGED_PORT <= self.port <= _MAX_PORT:
            raise ValueError(
                f"ServiceSpec.port: {self.port} must be between {_MIN_UNPRIVILEGED_PORT} and {_MAX_PORT}: the "
                "container runs as non-root with every capability dropped, so it cannot bind a privileged port"
            )
        if self.replicas < 1:
            raise ValueError(f"ServiceSpec.replicas: {self.replicas} must be at least 1")
        if self.max_replicas < self.replicas:
            raise ValueError(
                f"ServiceSpec.max_replicas: {self.max_replicas} must be at least replicas ({self.replicas})"
            )
        if (self.host or self.tls_certificate_uri) and self.expose is None:
            raise ValueError(f"ServiceSpec.host: {self.host!r} needs expose: only an exposed service has an Ingress")
        if self.tls_certificate_uri and not self.host:
            raise ValueError("ServiceSpec.tls_certificate_uri: a certificate is served for a host; set host")
        for peer in (*(name for name, _ in self.calls), *self.callers):
            if not _DNS_LABEL.match(peer) or peer == self.name:
                raise ValueError(f"ServiceSpec.calls/callers: {peer!r} must be another service's name")
        for request, limit in (("cpu_request", "cpu_limit"), ("memory_request", "memory_limit")):
            if _quantity(self, request) > _quantity(self, limit):
                raise ValueError(
                    f"ServiceSpec.{request}: {getattr(self, request)!r} must not exceed {limit} "
                    f"({getattr(self, limit)!r}); Kubernetes rejects such a pod"
                )


def _quantity(service: ServiceSpec, field_name: str) -> Decimal:
    value: str = getattr(service, field_name)
    match = _QUANTITY.match(value)
    if match is None or Decimal(match["number"]) == 0:
        raise ValueError(
            f"ServiceSpec.{field_name}: {value!r} must be a positive Kubernetes quantity such as '250m', '1', '128Mi'"
        )
    return Decimal(match["number"]) * _QUANTITY_FACTORS[match["suffix"] or ""]


@dataclass(frozen=True)
class PipelineContext:
    """Per-stack names the pipelines use, all plain strings known before `pulumi up`."""

    azure_service_connection: str
    registry_service_connection: str
    resource_group: str
    nonprod_registry_name: str
    nonprod_registry_login_server: str
    prod_registry_name: str
    prod_registry_login_server: str
    staging_cluster: str
    production_cluster: str
    key_vault_name: str
    key_vault_secrets: tuple[str, ...]
    staging_environment: str = "staging"
    production_environment: str = "production"
    agent_vm_image: str = "ubuntu-24.04"
    # A self-hosted or Managed DevOps Pool with known egress addresses; None runs on Microsoft-hosted agents, whose
    # addresses a Key Vault firewall cannot list.
    agent_pool: str | None = None
    python_version: str = "3.13"
    # CI runs the Microsoft Security DevOps scan only where the stack installs or adopts the extension providing it.
    security_scan: bool = False
    # Who may resume the promotion; empty leaves it to anyone with queue rights, notified is the requester.
    promotion_approvers: tuple[str, ...] = ()
    # How long the promotion waits for an approver, as the production environment's approval check does.
    approval_timeout_minutes: int = 1440

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, str) and not value.strip():
                raise ValueError(f"PipelineContext.{field.name}: must not be empty")
        for field_name in ("nonprod_registry_login_server", "prod_registry_login_server"):
            login_server: str = getattr(self, field_name)
            # An image reference is split at '/' and ':' (KubernetesManifest matches the name before the first ':').
            if "/" in login_server or ":" in login_server:
                raise ValueError(f"PipelineContext.{field_name}: {login_server!r} must be a bare host name")
        for field_name in ("staging_environment", "production_environment"):
            # Deployment jobs target "<environment>.<resource>": a '.' in the environment would shift the split.
            if "." in getattr(self, field_name):
                raise ValueError(f"PipelineContext.{field_name}: {getattr(self, field_name)!r} must not contain '.'")
        for secret in self.key_vault_secrets:
            if not _SECRET_NAME.match(secret):
                raise ValueError(
                    f"PipelineContext.key_vault_secrets: {secret!r} must be a Key Vault secret name starting with a "
                    "letter (letters, digits and '-', at most 127 characters)"
                )
        if APPINSIGHTS_SECRET not in self.key_vault_secrets:
            raise ValueError(
                f"PipelineContext.key_vault_secrets: {list(self.key_vault_secrets)!r} must include "
                f"{APPINSIGHTS_SECRET!r}: the integration tests export telemetry to Application Insights"
            )
        env_names = [secret_env_name(secret) for secret in self.key_vault_secrets]
        if len(set(env_names)) != len(env_names):
            raise ValueError(
                f"PipelineContext.key_vault_secrets: {list(self.key_vault_secrets)!r} must map to distinct "
                f"environment variables, got {env_names!r}"
            )


@dataclass(frozen=True)
class PipelineNames:
    """Azure DevOps pipeline definition names; CD's pipeline resource refers to CI by `ci`."""

    pr: str
    ci: str
    cd: str


def pipeline_names(service: ServiceSpec) -> PipelineNames:
    names = ServiceNames(service.name)
    return PipelineNames(pr=names.pipeline("pr"), ci=names.pipeline("ci"), cd=names.pipeline("cd"))


def secret_env_name(secret: str) -> str:
    """The environment variable a Key Vault secret is mapped to for the integration tests."""
    return _SECRET_ENV_OVERRIDES.get(secret, secret.upper().replace("-", "_"))


def render_repository_files(service: ServiceSpec, ctx: PipelineContext) -> dict[str, str]:
    """Repository path -> content of every pipeline, template and manifest to commit, sorted by path."""
    files = {
        PR_PIPELINE_PATH: _dump(_pr_pipeline(service, ctx)),
        CI_PIPELINE_PATH: _dump(_ci_pipeline(service, ctx)),
        CD_PIPELINE_PATH: _dump(_cd_pipeline(service, ctx)),
        f"{KUBERNETES_MANIFEST_PATH}/{STAGING_MANIFEST}": _dump_all(
            _kubernetes_manifest(service, ctx.nonprod_registry_login_server)
        ),
        f"{KUBERNETES_MANIFEST_PATH}/{PRODUCTION_MANIFEST}": _dump_all(
            _kubernetes_manifest(service, ctx.prod_registry_login_server)
        ),
    }
    for template in sorted(_TEMPLATE_SOURCE_DIR.glob("*.yml")):
        files[f"{PIPELINE_TEMPLATES_PATH}/{template.name}"] = _HEADER + template.read_text(encoding="utf-8")
    return dict(sorted(files.items()))


# --- serialization ------------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Safe dumping, with scripts as literal blocks and no anchors (Azure Pipelines YAML does not support them)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def _dump(document: dict[str, Any]) -> str:
    return _HEADER + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=_YAML_WIDTH)


def _dump_all(documents: list[dict[str, Any]]) -> str:
    return _HEADER + yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, width=_YAML_WIDTH)


# --- pipelines ----------------------------------------------------------------------------------------------------


def _image_repository(login_server: str, service: ServiceSpec) -> str:
    return f"{login_server}/{service.name}"


def _publish_test_results(suite: str) -> dict[str, Any]:
    return {
        "task": "PublishTestResults@2",
        "displayName": f"Publish {suite} test results",
        # Also after a failure, which is when the results matter most.
        "condition": "succeededOrFailed()",
        "inputs": {
            "testResultsFormat": "JUnit",
            "testResultsFiles": f"test-results/{suite}.xml",
            "testRunTitle": f"{suite.capitalize()} tests",
        },
    }


def _pool(ctx: PipelineContext) -> dict[str, str]:
    return {"name": ctx.agent_pool} if ctx.agent_pool else {"vmImage": ctx.agent_vm_image}


def _quality_gate(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    """Lint, restore, build and unit tests: the same step in PR validation and in CI."""
    if service.build == "container":
        return {"template": _CONTAINER_TESTS_TEMPLATE, "parameters": {"suite": "unit", "target": UNIT_RESULTS_STAGE}}
    return {"template": _PYTHON_BUILD_TEMPLATE, "parameters": {"pythonVersion": ctx.python_version}}


def _integration_tests(service: ServiceSpec, ctx: PipelineContext) -> list[dict[str, Any]]:
    # Secret variables reach a process only through an explicit mapping.
    env = {secret_env_name(secret): f"$({secret})" for secret in ctx.key_vault_secrets}
    if service.build == "container":
        secrets = " ".join(f"--secret id={secret},env={secret_env_name(secret)}" for secret in ctx.key_vault_secrets)
        return [
            {
                "template": _CONTAINER_TESTS_TEMPLATE,
                "parameters": {
                    "suite": "integration",
                    "target": INTEGRATION_RESULTS_STAGE,
                    "secretArguments": secrets,
                    "env": env,
                },
            }
        ]
    return [
        {
            "script": "python -m pytest tests/integration --junitxml=test-results/integration.xml",
            "displayName": "Integration tests",
            "env": env,
        },
        _publish_test_results("integration"),
        {
            "task": "PublishPipelineArtifact@1",
            "displayName": "Publish wheel",
            "inputs": {"targetPath": "dist", "artifact": WHEEL_ARTIFACT},
        },
    ]


def _pr_pipeline(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    # Azure Repos runs PR builds through the branch policy's build validation, not a `pr:` trigger; `trigger: none`
    # keeps pushes from starting this definition too.
    return {"trigger": "none", "pool": _pool(ctx), "steps": [_quality_gate(service, ctx)]}


def _ci_pipeline(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    image_repository = _image_repository(ctx.nonprod_registry_login_server, service)
    digest_dir = f"$(Build.ArtifactStagingDirectory)/{IMAGE_ARTIFACT}"
    return {
        # Pipeline-level scalars are strings to the Azure Pipelines parser (it coerces them where it needs a boolean),
        # and Microsoft's published schema only accepts the string form; task inputs are typed, so they stay booleans.
        "trigger": {"batch": "true", "branches": {"include": [_MAIN_BRANCH]}},
        "pr": "none",
        "pool": _pool(ctx),
        "jobs": [
            {
                "job": "BuildAndTest",
                "displayName": "Build and test",
                "steps": [
                    _quality_gate(service, ctx),
                    # The one read of the secrets, from the agent: the vault's firewall admits the agents' network,
                    # never Azure DevOps' own servers (not a Key Vault trusted service). Only CI's definition is
                    # authorized for the connection, so PR builds never see them.
                    {
                        "task": "AzureKeyVault@2",
                        "displayName": "Read integration test secrets",
                        "inputs": {
                            "azureSubscription": ctx.azure_service_connection,
                            "KeyVaultName": ctx.key_vault_name,
                            "SecretsFilter": ",".join(ctx.key_vault_secrets),
                            "RunAsPreJob": False,
                        },
                    },
                    *_integration_tests(service, ctx),
                    {
                        "task": "PublishPipelineArtifact@1",
                        "displayName": "Publish Kubernetes manifests",
                        "inputs": {"targetPath": KUBERNETES_MANIFEST_PATH, "artifact": MANIFESTS_ARTIFACT},
                    },
                ],
            },
            {
                "job": "Image",
                "displayName": "Build, push and scan the image",
                "dependsOn": "BuildAndTest",
                "steps": [
                    {
                        "task": "Docker@2",
                        "displayName": "Build and push to the non-production registry",
                        "inputs": {
                            "command": "buildAndPush",
                            "containerRegistry": ctx.registry_service_connection,
                            "repository": service.name,
                            "Dockerfile": "Dockerfile",
                            "buildContext": ".",
                            "tags": "$(Build.BuildId)",
                        },
                    },
                    {
                        "template": _CAPTURE_DIGEST_TEMPLATE,
                        "parameters": {
                            "imageRepository": image_repository,
                            "directory": digest_dir,
                            "file": IMAGE_DIGEST_FILE,
                        },
                    },
                    *([_security_scan()] if ctx.security_scan else []),
                    {
                        "task": "PublishPipelineArtifact@1",
                        "displayName": "Publish image digest",
                        "inputs": {"targetPath": digest_dir, "artifact": IMAGE_ARTIFACT},
                    },
                ],
            },
        ],
    }


def _security_scan() -> dict[str, Any]:
    # Defender for DevOps: results go to the CodeAnalysisLogs artifact Defender for Cloud reads; `break` fails the run
    # on error-level findings, and a failed CI run never triggers CD.
    return {
        "task": SECURITY_SCAN_TASK,
        "displayName": "Microsoft Security DevOps scan",
        "inputs": {"break": True, "publish": True, "artifactName": "CodeAnalysisLogs"},
    }


def _deploy_stage(
    service: ServiceSpec,
    ctx: PipelineContext,
    *,
    stage: str,
    depends_on: str | None,
    environment: str,
    cluster: str,
    manifest: str,
    login_server: str,
) -> dict[str, Any]:
    return {
        "stage": stage,
        **({"dependsOn": depends_on} if depends_on else {}),
        "jobs": [
            {
                "template": _DEPLOY_TEMPLATE,
                "parameters": {
                    # The environment's Kubernetes resource is the service's namespace.
                    "environment": f"{environment}.{service.name}",
                    "azureServiceConnection": ctx.azure_service_connection,
                    "resourceGroup": ctx.resource_group,
                    "cluster": cluster,
                    "namespace": service.name,
                    "manifest": manifest,
                    "imageRepository": _image_repository(login_server, service),
                    "kubeloginVersion": KUBELOGIN_VERSION,
                },
            }
        ],
    }


def _acceptance_stage(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    python = [{"template": _PYTHON_SETUP_TEMPLATE, "parameters": {"pythonVersion": ctx.python_version}}]
    return {
        "stage": "AcceptanceTests",
        "dependsOn": "Staging",
        "jobs": [
            {
                "job": "AcceptanceTests",
                "displayName": "Acceptance tests against staging",
                "steps": [
                    *(python if service.build == "python" else []),
                    {"template": _KUBELOGIN_TEMPLATE, "parameters": {"version": KUBELOGIN_VERSION}},
                    {
                        "template": _ACCEPTANCE_TEMPLATE,
                        "parameters": {
                            "azureServiceConnection": ctx.azure_service_connection,
                            "resourceGroup": ctx.resource_group,
                            "cluster": ctx.staging_cluster,
                            "namespace": service.name,
                            "port": service.port,
                            "command": _acceptance_command(service),
                        },
                    },
                ],
            }
        ],
    }


def _acceptance_command(service: ServiceSpec) -> str:
    if service.build == "python":
        return "python -m pytest tests/acceptance --junitxml=test-results/acceptance.xml"
    # The image's `acceptance` stage runs the suite against STAGING_BASE_URL and writes /test-results/acceptance.xml;
    # it shares the agent's network to reach the port-forward, and runs as the image's own non-root user.
    return (
        "mkdir -p -m 0777 test-results\n"
        f'DOCKER_BUILDKIT=1 docker build --target {ACCEPTANCE_STAGE} --tag "acceptance:$(Build.BuildId)" .\n'
        'docker run --rm --network host --env STAGING_BASE_URL --volume "$PWD/test-results:/test-results" '
        '"acceptance:$(Build.BuildId)"'
    )


def _manual_validation_stage(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    return {
        "stage": "ManualValidation",
        "dependsOn": "AcceptanceTests",
        "jobs": [
            {
                "job": "ManualValidation",
                "displayName": "Approve promotion to production",
                # ManualValidation runs only in an agentless job; the job must outlive the task's own timeout. A string
                # for the same reason as `batch` in CI: job-level scalars may be runtime expressions.
                "pool": "server",
                "timeoutInMinutes": str(ctx.approval_timeout_minutes + 60),
                "steps": [
                    {
                        "task": "ManualValidation@1",
                        "displayName": "Approve promotion",
                        "timeoutInMinutes": ctx.approval_timeout_minutes,
                        "inputs": {
                            "notifyUsers": ",".join(ctx.promotion_approvers) or "$(Build.RequestedForEmail)",
                            **({"approvers": ",".join(ctx.promotion_approvers)} if ctx.promotion_approvers else {}),
                            "allowApproversToApproveTheirOwnRuns": False,
                            "instructions": (
                                f"{service.name} from CI run $(resources.pipeline.{CI_RESOURCE}.runName) passed its "
                                "acceptance tests in staging. Resume to promote that image to the production registry "
                                "and deploy it to production; reject to stop here."
                            ),
                            "onTimeout": "reject",
                        },
                    }
                ],
            }
        ],
    }


def _promote_stage(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    return {
        "stage": "Promote",
        "dependsOn": "ManualValidation",
        "jobs": [
            {
                "job": "Promote",
                "displayName": "Import the image into the production registry",
                "steps": [
                    {
                        "template": _PROMOTE_TEMPLATE,
                        "parameters": {
                            "azureServiceConnection": ctx.azure_service_connection,
                            "sourceRegistry": ctx.nonprod_registry_name,
                            "targetRegistry": ctx.prod_registry_name,
                            "repository": service.name,
                            "tag": _CI_RUN_ID,
                        },
                    }
                ],
            }
        ],
    }


def _cd_pipeline(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    return {
        # Runs only when a CI run of main completes successfully.
        "trigger": "none",
        "pr": "none",
        "resources": {
            "pipelines": [
                {
                    "pipeline": CI_RESOURCE,
                    "source": pipeline_names(service).ci,
                    "trigger": {"branches": {"include": [_MAIN_BRANCH]}},
                }
            ]
        },
        "pool": _pool(ctx),
        "stages": [
            _deploy_stage(
                service,
                ctx,
                stage="Staging",
                depends_on=None,
                environment=ctx.staging_environment,
                cluster=ctx.staging_cluster,
                manifest=STAGING_MANIFEST,
                login_server=ctx.nonprod_registry_login_server,
            ),
            _acceptance_stage(service, ctx),
            _manual_validation_stage(service, ctx),
            _promote_stage(service, ctx),
            _deploy_stage(
                service,
                ctx,
                stage="Production",
                depends_on="Promote",
                environment=ctx.production_environment,
                cluster=ctx.production_cluster,
                manifest=PRODUCTION_MANIFEST,
                login_server=ctx.prod_registry_login_server,
            ),
        ],
    }


# --- Kubernetes ---------------------------------------------------------------------------------------------------


def _kubernetes_manifest(service: ServiceSpec, login_server: str) -> list[dict[str, Any]]:
    name = service.name
    selector = {"app.kubernetes.io/name": name}
    labels = {**selector, "app.kubernetes.io/part-of": "aks-estate"}

    def metadata(resource_name: str, **extra: Any) -> dict[str, Any]:
        return {"name": resource_name, "namespace": name, "labels": labels, **extra}

    non_root = {"runAsNonRoot": True, "runAsUser": RUN_AS_ID, "runAsGroup": RUN_AS_ID}
    runtime_default_seccomp = {"seccompProfile": {"type": "RuntimeDefault"}}
    container = {
        # `name` first, the order Kubernetes itself writes and readers expect.
        "name": name,
        "image": f"{_image_repository(login_server, service)}:{UNPINNED_IMAGE_TAG}",
        # With a digest reference `Always` costs only a manifest check, and the kubelet re-checks pull access.
        "imagePullPolicy": "Always",
        "ports": [{"name": "http", "containerPort": service.port, "protocol": "TCP"}],
        "env": [
            {"name": "SERVICE_NAME", "value": name},
            {"name": "PORT", "value": str(service.port)},
            {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING_FILE", "value": f"{APPINSIGHTS_MOUNT}/{APPINSIGHTS_KEY}"},
        ],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "initialDelaySeconds": 5,
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": {"cpu": service.cpu_request, "memory": service.memory_request},
            "limits": {"cpu": service.cpu_limit, "memory": service.memory_limit},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            **non_root,
            "capabilities": {"drop": ["ALL"]},
            **runtime_default_seccomp,
        },
        # The root filesystem is read-only; Python and its libraries still want a scratch directory.
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
            {"name": "appinsights", "mountPath": APPINSIGHTS_MOUNT, "readOnly": True},
        ],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(
            name,
            annotations={
                # The value is `ID=reason`, split at '=' by checkov: the reason must not contain one.
                "checkov.io/skip1": (
                    "CKV_K8S_43=The Azure Pipelines CD deploy pins this image to the digest CI pushed; "
                    "the digest does not exist before CI has pushed the image"
                ),
            },
        ),
        "spec": {
            # No `replicas`: the HorizontalPodAutoscaler owns the count, and re-applying a fixed number on every
            # deployment would undo its scaling.
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": False,
                    "securityContext": {**non_root, **runtime_default_seccomp},
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector},
                        }
                    ],
                    "containers": [container],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                        # The stack writes this secret into every service namespace; a file, not an env var, keeps
                        # it out of the pod spec. Optional: without it the service runs, without telemetry.
                        {
                            "name": "appinsights",
                            "secret": {"secretName": APPINSIGHTS_SECRET_NAME, "optional": True, "defaultMode": 0o440},
                        },
                    ],
                },
            },
        },
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(name),
            # The service never calls the Kubernetes API.
            "automountServiceAccountToken": False,
        },
        deployment,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(name),
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": service.port, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": metadata(name),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": service.replicas,
                "maxReplicas": service.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                    }
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": metadata(name),
            "spec": {
                # One pod at a time at any scale the HPA reaches, and never a budget that blocks node drains (cluster
                # upgrades) the way `minAvailable: <replicas>` would.
                "maxUnavailable": 1,
                "selector": {"matchLabels": selector},
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata("default-deny"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{name}-allow-ingress"),
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": service.port}]}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata("allow-dns-egress"),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{name}-allow-telemetry-egress"),
            "spec": {
                # Application Insights ingestion is a public HTTPS endpoint; nothing else leaves, and nothing inside
                # the private ranges is reachable this way.
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}],
                        "ports": [{"protocol": "TCP", "port": 443}],
                    }
                ],
            },
        },
        *_traffic_in(service, metadata, selector),
        *_traffic_between_services(service, metadata, selector),
    ]


def _namespace_pods(namespace: str) -> dict[str, Any]:
    """Pods of a service in its own namespace: the namespace by its immutable name label, the pods by their name."""
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": namespace}},
    }


def _traffic_in(service: ServiceSpec, metadata: Any, selector: dict[str, str]) -> list[dict[str, Any]]:
    if service.expose is None:
        return []
    rule: dict[str, Any] = {
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": service.name, "port": {"name": "http"}}},
                }
            ]
        }
    }
    ingress: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(
            service.name,
            **(
                {"annotations": {TLS_CERTIFICATE_ANNOTATION: service.tls_certificate_uri}}
                if service.tls_certificate_uri
                else {}
            ),
        ),
        "spec": {
            "ingressClassName": PUBLIC_INGRESS_CLASS if service.expose == "public" else INTERNAL_INGRESS_CLASS,
            **(
                {"tls": [{"hosts": [service.host], "secretName": f"keyvault-{service.name}"}]}
                if service.tls_certificate_uri
                else {}
            ),
            "rules": [{**({"host": service.host} if service.host else {}), **rule}],
        },
    }
    return [
        ingress,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{service.name}-allow-ingress-controller"),
            "spec": {
                # The controllers of both classes run in the add-on's namespace; nothing else outside may come in.
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": INGRESS_NAMESPACE}}}
                        ],
                        "ports": [{"protocol": "TCP", "port": service.port}],
                    }
                ],
            },
        },
    ]


def _traffic_between_services(service: ServiceSpec, metadata: Any, selector: dict[str, str]) -> list[dict[str, Any]]:
    """Both ends of every declared call: the callee admits exactly the caller's pods, the caller may reach exactly
    the callee's pods on its port; every other path stays closed by `default-deny`."""
    admitted = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{service.name}-allow-from-{caller}"),
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [_namespace_pods(caller)], "ports": [{"protocol": "TCP", "port": service.port}]}],
            },
        }
        for caller in service.callers
    ]
    reaching = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{service.name}-allow-egress-to-{callee}"),
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Egress"],
                "egress": [{"to": [_namespace_pods(callee)], "ports": [{"protocol": "TCP", "port": port}]}],
            },
        }
        for callee, port in service.calls
    ]
    return [*admitted, *reaching]
