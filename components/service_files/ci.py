"""The PR and CI entry pipelines: the quality gate, the one read of the secrets, the image push and its digest."""

from __future__ import annotations

from typing import Any

from components.service_files.context import PipelineContext, secret_env_name
from components.service_files.layout import (
    CAPTURE_DIGEST_TEMPLATE,
    CONTAINER_TESTS_TEMPLATE,
    IMAGE_ARTIFACT,
    IMAGE_DIGEST_FILE,
    INTEGRATION_RESULTS_STAGE,
    KUBERNETES_MANIFEST_PATH,
    MAIN_BRANCH,
    MANIFESTS_ARTIFACT,
    PYTHON_BUILD_TEMPLATE,
    SECURITY_SCAN_TASK,
    UNIT_RESULTS_STAGE,
    WHEEL_ARTIFACT,
)
from components.service_files.spec import ServiceSpec


def image_repository(login_server: str, service: ServiceSpec) -> str:
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


def _quality_gate(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    """Lint, restore, build and unit tests: the same step in PR validation and in CI."""
    if service.build == "container":
        return {"template": CONTAINER_TESTS_TEMPLATE, "parameters": {"suite": "unit", "target": UNIT_RESULTS_STAGE}}
    return {"template": PYTHON_BUILD_TEMPLATE, "parameters": {"pythonVersion": ctx.python_version}}


def _integration_tests(service: ServiceSpec, ctx: PipelineContext) -> list[dict[str, Any]]:
    # Secret variables reach a process only through an explicit mapping.
    env = {secret_env_name(secret): f"$({secret})" for secret in ctx.key_vault_secrets}
    if service.build == "container":
        secrets = " ".join(f"--secret id={secret},env={secret_env_name(secret)}" for secret in ctx.key_vault_secrets)
        return [
            {
                "template": CONTAINER_TESTS_TEMPLATE,
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
        publish_test_results("integration"),
        {
            "task": "PublishPipelineArtifact@1",
            "displayName": "Publish wheel",
            "inputs": {"targetPath": "dist", "artifact": WHEEL_ARTIFACT},
        },
    ]


def pr_pipeline(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    # Azure Repos runs PR builds through the branch policy's build validation, not a `pr:` trigger; `trigger: none`
    # keeps pushes from starting this definition too.
    return {"trigger": "none", "pool": pool(ctx), "steps": [_quality_gate(service, ctx)]}


def ci_pipeline(service: ServiceSpec, ctx: PipelineContext) -> dict[str, Any]:
    repository = image_repository(ctx.nonprod_registry_login_server, service)
    digest_dir = f"$(Build.ArtifactStagingDirectory)/{IMAGE_ARTIFACT}"
    return {
        # Pipeline-level scalars are strings to the Azure Pipelines parser (it coerces them where it needs a boolean),
        # and Microsoft's published schema only accepts the string form; task inputs are typed, so they stay booleans.
        "trigger": {"batch": "true", "branches": {"include": [MAIN_BRANCH]}},
        "pr": "none",
        "pool": pool(ctx),
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
