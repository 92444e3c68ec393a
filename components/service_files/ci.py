"""The PR and CI templates every service pipeline extends: the quality gate, the one read of the secrets, the rendered
manifests, the image push and its digest. One template per build kind; the service is the entry's parameters."""

from __future__ import annotations

from typing import Any

from components.naming import APPINSIGHTS_SECRET, CI_TELEMETRY_NAMESPACE, telemetry_resource_attributes
from components.service_files.context import PipelineContext, secret_env_name
from components.service_files.layout import (
    CAPTURE_DIGEST_TEMPLATE,
    CONTAINER_TESTS_TEMPLATE,
    IMAGE_ARTIFACT,
    IMAGE_DIGEST_FILE,
    INTEGRATION_RESULTS_STAGE,
    MANIFEST_RENDERER,
    MANIFESTS_ARTIFACT,
    PRODUCTION_MANIFEST,
    PYTHON_BUILD_TEMPLATE,
    SECURITY_SCAN_TASK,
    STAGING_MANIFEST,
    TELEMETRY_AUTHENTICATION,
    TEMPLATES_ALIAS,
    UNIT_RESULTS_STAGE,
    WHEEL_ARTIFACT,
)
from components.service_files.spec import MANIFEST_PARAMETER, TemplateService


def image_repository(login_server: str, service: TemplateService) -> str:
    return f"{login_server}/{service.name}"


def publish_test_results(suite: str) -> dict[str, Any]:
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


def pool(ctx: PipelineContext) -> dict[str, str]:
    return {"name": ctx.agent_pool} if ctx.agent_pool else {"vmImage": ctx.agent_vm_image}


def parameters(*, manifest: bool = False) -> list[dict[str, Any]]:
    """What every entry pipeline passes: the service's name and port, and to CI what its manifests are made of."""
    return [
        {"name": "service", "type": "string"},
        {"name": "port", "type": "number"},
        *([{"name": MANIFEST_PARAMETER, "type": "object"}] if manifest else []),
    ]


def _quality_gate(service: TemplateService, ctx: PipelineContext) -> dict[str, Any]:
    """Lint, restore, build and unit tests: the same step in PR validation and in CI."""
    if service.build == "container":
        return {"template": CONTAINER_TESTS_TEMPLATE, "parameters": {"suite": "unit", "target": UNIT_RESULTS_STAGE}}
    return {"template": PYTHON_BUILD_TEMPLATE, "parameters": {"pythonVersion": ctx.python_version}}


def _integration_tests(service: TemplateService, ctx: PipelineContext) -> list[dict[str, Any]]:
    # Secret variables reach a process only through an explicit mapping.
    env = {secret_env_name(secret): f"$({secret})" for secret in ctx.key_vault_secrets}
    # The tests' telemetry reports as the service in CI's OpenTelemetry namespace, a cloud role name
    # ("ci.<service>") the Application Insights alerts leave out (components/alerts.py).
    telemetry = {
        "SERVICE_NAME": "${{ parameters.service }}",
        "OTEL_RESOURCE_ATTRIBUTES": telemetry_resource_attributes(CI_TELEMETRY_NAMESPACE),
    }
    if service.build == "container":
        secrets = " ".join(f"--secret id={secret},env={secret_env_name(secret)}" for secret in ctx.key_vault_secrets)
        return [
            {
                "template": CONTAINER_TESTS_TEMPLATE,
                "parameters": {
                    "suite": "integration",
                    "target": INTEGRATION_RESULTS_STAGE,
                    "secretArguments": secrets,
                    # `--build-arg NAME` without a value takes it from the step's environment; the Dockerfile's
                    # integration stage declares the ARG to see it (an undeclared one is unused, with a warning).
                    "buildArguments": " ".join(f"--build-arg {variable}" for variable in telemetry),
                    "env": {**env, **telemetry},
                },
            }
        ]
    return [
        {
            # Inside the Azure CLI's session: Application Insights refuses keys in prod, so the tests' exporter signs
            # in with the pipelines identity (DefaultAzureCredential reaches it through the CLI).
            "task": "AzureCLI@2",
            "displayName": "Integration tests",
            "inputs": {
                "azureSubscription": ctx.azure_service_connection,
                "scriptType": "bash",
                "scriptLocation": "inlineScript",
                "inlineScript": "python -m pytest tests/integration --junitxml=test-results/integration.xml",
            },
            "env": {**env, **telemetry, TELEMETRY_AUTHENTICATION: "entra"},
        },
        publish_test_results("integration"),
        {
            "task": "PublishPipelineArtifact@1",
            "displayName": "Publish wheel",
            "inputs": {"targetPath": "dist", "artifact": WHEEL_ARTIFACT},
        },
    ]


def pr_template(service: TemplateService, ctx: PipelineContext) -> dict[str, Any]:
    return {"parameters": parameters(), "pool": pool(ctx), "steps": [_quality_gate(service, ctx)]}


def _manifests_job(ctx: PipelineContext) -> dict[str, Any]:
    """The service's manifests for both clusters, rendered from this repository's renderer at the release CI ran
    with, and published with the image: CD deploys exactly what CI produced. The telemetry endpoint comes from the
    vault at run time, so no committed file holds it (with local auth on, as dev may run, it admits ingestion)."""
    directory = f"$(Build.ArtifactStagingDirectory)/{MANIFESTS_ARTIFACT}"
    private = "".join(f" --private-https {cidr}" for cidr in ctx.private_https)
    render = [
        f"python3 {MANIFEST_RENDERER} --stage {stage} --registry {registry}{private} "
        f'--connection-string "$APPLICATIONINSIGHTS_CONNECTION_STRING" --output "{directory}/{manifest}"'
        for stage, registry, manifest in (
            ("staging", ctx.nonprod_registry_login_server, STAGING_MANIFEST),
            ("production", ctx.prod_registry_login_server, PRODUCTION_MANIFEST),
        )
    ]
    return {
        "job": "Manifests",
        "displayName": "Render Kubernetes manifests",
        "steps": [
            {"checkout": TEMPLATES_ALIAS},
            {
                "task": "AzureKeyVault@2",
                "displayName": "Read the telemetry endpoint",
                "inputs": {
                    "azureSubscription": ctx.azure_service_connection,
                    "KeyVaultName": ctx.key_vault_name,
                    "SecretsFilter": APPINSIGHTS_SECRET,
                    "RunAsPreJob": False,
                },
            },
            {
                "bash": "\n".join(["set -euo pipefail", f'mkdir -p "{directory}"', *render]),
                "displayName": "Render the manifests for staging and production",
                "env": {
                    "SERVICE_MANIFEST": f"${{{{ convertToJson(parameters.{MANIFEST_PARAMETER}) }}}}",
                    "APPLICATIONINSIGHTS_CONNECTION_STRING": f"$({APPINSIGHTS_SECRET})",
                },
            },
            {
                "task": "PublishPipelineArtifact@1",
                "displayName": "Publish Kubernetes manifests",
                "inputs": {"targetPath": directory, "artifact": MANIFESTS_ARTIFACT},
            },
        ],
    }


def ci_template(service: TemplateService, ctx: PipelineContext) -> dict[str, Any]:
    repository = image_repository(ctx.nonprod_registry_login_server, service)
    digest_dir = f"$(Build.ArtifactStagingDirectory)/{IMAGE_ARTIFACT}"
    return {
        "parameters": parameters(manifest=True),
        "pool": pool(ctx),
        "jobs": [
            {
                "job": "BuildAndTest",
                "displayName": "Build and test",
                "steps": [
                    _quality_gate(service, ctx),
                    # The one read of the secrets, from the agent: the vault admits the agents' network, never Azure
                    # DevOps' own servers (not a Key Vault trusted service). Only CI is authorized for the connection.
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
                ],
            },
            _manifests_job(ctx),
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
                        "template": CAPTURE_DIGEST_TEMPLATE,
                        "parameters": {
                            "imageRepository": repository,
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
