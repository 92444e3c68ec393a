"""The files committed into each service repository: valid for external validators, and doing what the reference
architecture's PR/CI/CD flow requires.

Each external validator runs once over the files rendered for the services, and must fail a deliberately broken
file: checkov, whose start costs seconds, reads the rendered files and the planted variants in one run and judges each
tree on its own; the structural tests read the same module-scoped rendering.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from components.devops.repository import starter_files
from components.service_files import entry_pipelines, templates_repository_files
from components.service_files.context import PipelineContext, pipeline_names
from components.service_files.entry import stage_template
from components.service_files.layout import (
    CD_PIPELINE_PATH,
    CI_PIPELINE_PATH,
    IMAGE_ARTIFACT,
    IMAGE_DIGEST_FILE,
    KUBELOGIN_VERSION,
    MANIFEST_RENDERER,
    MANIFESTS_ARTIFACT,
    PR_PIPELINE_PATH,
    PRODUCTION_MANIFEST,
    STAGING_MANIFEST,
    TEMPLATES_RELEASE_REF,
    WHEEL_ARTIFACT,
)
from components.service_files.manifests import kubernetes_manifest, manifest_parameters, renderer
from components.service_files.spec import ServiceSpec
from tests import validators
from tools.capture import Capture
from tools.pipeline_links import expand

CTX = PipelineContext(
    project="contoso",
    azure_service_connection="sc-arm-contoso-dev",
    registry_service_connection="sc-acr-contoso-dev-np",
    production_service_connection="sc-arm-contoso-dev-production",
    resource_group="rg-contoso-dev",
    nonprod_registry_name="crcontosodevnp",
    nonprod_registry_login_server="crcontosodevnp.azurecr.io",
    prod_registry_name="crcontosodevprod",
    prod_registry_login_server="crcontosodevprod.azurecr.io",
    staging_cluster="aks-contoso-dev-staging",
    production_cluster="aks-contoso-dev-prod",
    key_vault_name="kv-contoso-dev",
    key_vault_secrets=("appinsights-connection-string", "db-password"),
    security_scan=True,
)
CONNECTION_STRING = (
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
    "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
)
CLIENT_IDS = {"staging": "11111111-1111-4111-8111-111111111111", "production": "22222222-2222-4222-8222-222222222222"}
TEMPLATES = templates_repository_files(CTX)
# Identical but for name and port, so their entry pipelines may differ only there.
ORDERS = ServiceSpec(name="orders", port=8080)
BILLING = ServiceSpec(name="billing", port=9090)
SERVICES = (ORDERS, BILLING)
CD_STAGES = ["Staging", "AcceptanceTests", "ManualValidation", "Promote", "Production"]
DIGEST = "sha256:" + "ab" * 32
STARTER_DOCKERFILE = starter_files()["Dockerfile"]
REGISTRIES = {"staging": CTX.nonprod_registry_login_server, "production": CTX.prod_registry_login_server}
MANIFEST_FILES = {"staging": STAGING_MANIFEST, "production": PRODUCTION_MANIFEST}

Files = dict[str, str]

# Traffic in and between services: a public gateway with a host and certificate per stage calling an internal ledger.
GATEWAY = ServiceSpec(
    name="gateway",
    port=8080,
    expose="public",
    host="shop.contoso.com",
    tls_certificate_uri="https://kv-contoso-dev.vault.azure.net/certificates/shop",
    staging_host="staging.shop.contoso.com",
    staging_tls_certificate_uri="https://kv-contoso-dev.vault.azure.net/certificates/shop-staging",
    calls=(("ledger", 9000),),
)
# Built the container way: any language, its Dockerfile's stages run the tests.
LEDGER = ServiceSpec(name="ledger", port=9000, build="container", expose="internal", callers=("gateway",))
ALL = (*SERVICES, GATEWAY, LEDGER)


def entries(service: ServiceSpec) -> Files:
    return entry_pipelines(service, CTX, CLIENT_IDS)


def view(service: ServiceSpec) -> Files:
    """What a run of the service compiles from: the templates repository's files and the service's entry pipelines
    (their directories do not overlap, so one mapping resolves `extends` and every relative include)."""
    return {**TEMPLATES, **entries(service)}


def compiled(service: ServiceSpec, path: str) -> Any:
    return expand(view(service), path)


def manifest(service: ServiceSpec, stage: str) -> str:
    """What CI's `Manifests` job writes for `stage`: the templates repository's renderer with the entry's parameters."""
    objects = kubernetes_manifest(manifest_parameters(service, CLIENT_IDS), stage, REGISTRIES[stage], CONNECTION_STRING)
    rendered: str = renderer().document_stream(objects)
    return rendered


@pytest.fixture(scope="module")
def rendered() -> dict[str, Files]:
    return {service.name: view(service) for service in ALL}


def all_pipeline_files() -> Files:
    """Every pipeline file once: the templates repository's, and each service's entry pipelines."""
    return {
        **{f"templates/{path}": content for path, content in TEMPLATES.items() if path.endswith(".yml")},
        **{f"{service.name}/{path}": content for service in ALL for path, content in entries(service).items()},
    }


def all_manifest_files() -> Files:
    return {
        f"{service.name}/{MANIFEST_FILES[stage]}": manifest(service, stage) for service in ALL for stage in REGISTRIES
    }


@pytest.fixture(scope="module")
def pipeline_files() -> Files:
    return all_pipeline_files()


@pytest.fixture(scope="module")
def manifest_files() -> Files:
    return all_manifest_files()


def load(files: Files, path: str) -> Any:
    return yaml.safe_load(files[path])


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a parsed YAML document, depth first in document order."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def tasks(node: Any, name: str) -> list[dict[str, Any]]:
    return [step for step in walk(node) if step.get("task") == name]


def scripts(node: Any) -> list[str]:
    texts = [step.get(key) for step in walk(node) for key in ("script", "bash")]
    texts += [task["inputs"]["inlineScript"] for task in tasks(node, "AzureCLI@2")]
    return [text for text in texts if isinstance(text, str)]


def stage(cd: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [candidate for candidate in cd["stages"] if candidate["stage"] == name]
    assert len(found) == 1, name
    return found[0]


def documents(content: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(content) if document]


def kind(content: str, wanted: str) -> list[dict[str, Any]]:
    return [document for document in documents(content) if document["kind"] == wanted]


# --- external validators ------------------------------------------------------------------------------------------


@pytest.mark.validators
def test_check_jsonschema_accepts_every_pipeline_file(pipeline_files: Files) -> None:
    builtin, extended = validators.check_jsonschema_azure_pipelines(pipeline_files)

    def checked(result: validators.ValidatorResult) -> list[str]:
        return [arg.split("/files/", 1)[1] for arg in result.command if arg.endswith(".yml")]

    # Only the CI templates use an extension task; everything else is held to Microsoft's published schema as shipped.
    assert "vendor.azure-pipelines" in builtin.command
    assert sorted(checked(extended)) == [
        f"templates/{stage_template('ci', build)}" for build in ("container", "python")
    ]
    assert sorted(checked(builtin) + checked(extended)) == sorted(pipeline_files)


@pytest.mark.validators
def test_checkov_azure_pipelines_passes(checkov_results: dict[str, validators.ValidatorResult]) -> None:
    result = validators.clean(checkov_results["pipelines"])

    assert not result.failed_checks
    assert not result.skipped_checks


@pytest.mark.validators
def test_checkov_kubernetes_passes_with_only_the_documented_skip(
    checkov_results: dict[str, validators.ValidatorResult],
) -> None:
    result = validators.clean(checkov_results["manifests"])

    assert not result.failed_checks
    # CKV_K8S_43 (image by digest): the digest is known only at deploy time, where KubernetesManifest pins it.
    assert result.skipped_checks == {"CKV_K8S_43"}


def cluster_kubernetes_versions() -> set[str]:
    """The AKS versions the stack configs pin (`kubernetesVersion` anywhere in Pulumi.<stack>.yaml)."""
    configs = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in validators.REPO_ROOT.glob("Pulumi.*.yaml")]
    return {
        str(node["kubernetesVersion"]) for config in configs for node in walk(config) if "kubernetesVersion" in node
    }


@pytest.mark.validators
def test_kubernetes_validate_strict_passes_for_the_clusters_and_the_newest_release(manifest_files: Files) -> None:
    versions = cluster_kubernetes_versions()
    assert versions, "no kubernetesVersion found in Pulumi.<stack>.yaml"

    result = validators.kubernetes_validate(manifest_files, sorted(versions | {validators.KUBERNETES_VERSION}))

    for version in versions:
        assert f"against version {version}" in result.output


def _mutate(files: Files, path: str, change: Callable[[list[dict[str, Any]]], None]) -> Files:
    parsed = list(yaml.safe_load_all(files[path]))
    change(parsed)
    return {path: yaml.safe_dump_all(parsed, sort_keys=False)}


def _unknown_manifest_input(docs: list[dict[str, Any]]) -> None:
    tasks(docs, "KubernetesManifest@1")[0]["inputs"]["imagePullPolicy"] = "Always"


def _boolean_batch(docs: list[dict[str, Any]]) -> None:
    docs[0]["trigger"]["batch"] = True


def _unknown_msdo_input(docs: list[dict[str, Any]]) -> None:
    tasks(docs, "MicrosoftSecurityDevOps@1")[0]["inputs"]["breakOnWarnings"] = True


def _latest_container_job(docs: list[dict[str, Any]]) -> None:
    docs[0]["jobs"][1]["container"] = "ubuntu:latest"


def _writable_root_filesystem(docs: list[dict[str, Any]]) -> None:
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False


def _misspelled_probe(docs: list[dict[str, Any]]) -> None:
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")


def _unknown_api_version(docs: list[dict[str, Any]]) -> None:
    next(doc for doc in docs if doc["kind"] == "HorizontalPodAutoscaler")["apiVersion"] = "autoscaling/v9"


ORDERS_STAGING = f"orders/{STAGING_MANIFEST}"
CI_TEMPLATE = f"templates/{stage_template('ci', 'python')}"
# Planted mistakes checkov must catch, each a tree of its own in the run over the rendered files:
# name: (how checkov reads it, the file, the mistake, the check that must fail).
Mutation = Callable[[list[dict[str, Any]]], None]
CHECKOV_PLANTS: dict[str, tuple[Callable[[Files], validators.CheckovTree], str, Mutation, str]] = {
    "latest-container-job": (validators.pipelines_tree, CI_TEMPLATE, _latest_container_job, "CKV_AZUREPIPELINES_1"),
    "writable-root-filesystem": (validators.kubernetes_tree, ORDERS_STAGING, _writable_root_filesystem, "CKV_K8S_22"),
}


def checkov_trees(_: Capture) -> dict[str, validators.CheckovTree]:
    """What checkov reads for this module (tests/conftest.py `checkov`): the rendered files and the planted variants."""
    pipelines, manifests = all_pipeline_files(), all_manifest_files()
    files = {**pipelines, **manifests}
    planted = {name: tree(_mutate(files, path, change)) for name, (tree, path, change, _) in CHECKOV_PLANTS.items()}
    return {
        "pipelines": validators.pipelines_tree(pipelines),
        "manifests": validators.kubernetes_tree(manifests),
        **planted,
        "starter-dockerfile": _dockerfile_tree(STARTER_DOCKERFILE),
        "starter-dockerfile-without-healthcheck": _dockerfile_tree(_without_healthcheck(STARTER_DOCKERFILE)),
    }


def _dockerfile_tree(content: str) -> validators.CheckovTree:
    return validators.CheckovTree("dockerfile", {"Dockerfile": content}, frozenset({"/Dockerfile"}))


def _without_healthcheck(dockerfile: str) -> str:
    kept = [line for line in dockerfile.split("\n") if not line.startswith(("HEALTHCHECK ", "    CMD "))]
    assert len(kept) == dockerfile.count("\n") - 1, "the plant removes the HEALTHCHECK instruction's two lines"
    return "\n".join(kept)


@pytest.fixture(scope="module")
def checkov_results(checkov: dict[str, dict[str, validators.ValidatorResult]]) -> dict[str, validators.ValidatorResult]:
    return checkov["test_pipeline_files"]


@pytest.mark.validators
def test_checkov_passes_the_starter_dockerfile_and_needs_its_healthcheck(
    checkov_results: dict[str, validators.ValidatorResult],
) -> None:
    # CI's Microsoft Security DevOps scan (`break: true`) may run checkov over the service repository among its
    # default tools (the task is closed source, so unproven); CKV_DOCKER_2 fails a Dockerfile without HEALTHCHECK.
    validators.clean(checkov_results["starter-dockerfile"])
    with pytest.raises(AssertionError, match="CKV_DOCKER_2"):
        validators.clean(checkov_results["starter-dockerfile-without-healthcheck"])


@pytest.mark.validators
@pytest.mark.parametrize("plant", sorted(CHECKOV_PLANTS))
def test_checkov_rejects_a_planted_mistake(checkov_results: dict[str, validators.ValidatorResult], plant: str) -> None:
    *_, check = CHECKOV_PLANTS[plant]

    with pytest.raises(AssertionError, match=re.escape(check)):
        validators.clean(checkov_results[plant])


@pytest.mark.parametrize(
    ("validator", "path", "change", "expected"),
    [
        (
            validators.check_jsonschema_azure_pipelines,
            "templates/pipelines/steps/deploy-aks.yml",
            _unknown_manifest_input,
            "failed (exit 1)",
        ),
        (validators.check_jsonschema_azure_pipelines, f"orders/{CI_PIPELINE_PATH}", _boolean_batch, "failed (exit 1)"),
        (validators.check_jsonschema_azure_pipelines, CI_TEMPLATE, _unknown_msdo_input, "failed (exit 1)"),
        (validators.kubernetes_validate, ORDERS_STAGING, _misspelled_probe, "readinesProbe"),
        # kubernetes-validate itself only warns, exiting 0, about a kind/apiVersion it has no schema for.
        (validators.kubernetes_validate, ORDERS_STAGING, _unknown_api_version, "autoscaling/v9"),
    ],
)
@pytest.mark.validators
def test_validators_reject_a_broken_file(  # noqa: PLR0917 (pytest passes fixtures and parameters by name)
    pipeline_files: Files,
    manifest_files: Files,
    validator: Callable[[Files], object],
    path: str,
    change: Callable[[list[dict[str, Any]]], None],
    expected: str,
) -> None:
    files = {**pipeline_files, **manifest_files}

    with pytest.raises(AssertionError, match=re.escape(expected)):
        validator(_mutate(files, path, change))


# --- what the pipelines do ----------------------------------------------------------------------------------------


def test_pr_pipeline_runs_the_quality_gate_on_build_validation_only(rendered: dict[str, Files]) -> None:
    files = rendered["orders"]
    entry = load(files, PR_PIPELINE_PATH)
    pr = load(files, stage_template("pr", "python"))
    build = load(files, "pipelines/steps/python-build.yml")
    setup = load(files, "pipelines/steps/python-setup.yml")

    assert entry["trigger"] == "none"
    assert "pr" not in entry
    assert entry["extends"] == {
        "template": "pipelines/pr-python.yml@templates",
        "parameters": {"service": "orders", "port": 8080},
    }
    assert pr["steps"] == [{"template": "steps/python-build.yml", "parameters": {"pythonVersion": "3.13"}}]
    assert [step["template"] for step in build["steps"][:1]] == ["python-setup.yml"]
    assert scripts(build) == [
        "python -m ruff check .",
        "python -m ruff format --check .",
        "python -m pip wheel --no-deps --wheel-dir dist .",
        "python -m pytest tests/unit --junitxml=test-results/unit.xml",
    ]
    (publish,) = tasks(build, "PublishTestResults@2")
    assert publish["condition"] == "succeededOrFailed()"
    assert publish["inputs"]["testResultsFiles"] == "test-results/unit.xml"
    assert build["steps"][-1] is publish
    assert [step.get("task") or step.get("script") for step in setup["steps"]] == [
        "UsePythonVersion@0",
        "Cache@2",
        "python -m pip install -r requirements-dev.txt",
    ]
    assert setup["steps"][0]["inputs"]["versionSpec"] == "${{ parameters.pythonVersion }}"
    cache = setup["steps"][1]["inputs"]
    assert cache["key"].endswith("| requirements*.txt")
    assert cache["path"] == setup["steps"][2]["env"]["PIP_CACHE_DIR"]


def test_entry_pipelines_read_the_templates_at_their_release(rendered: dict[str, Files]) -> None:
    for service in ALL:
        for kind, path in (("pr", PR_PIPELINE_PATH), ("ci", CI_PIPELINE_PATH), ("cd", CD_PIPELINE_PATH)):
            entry = load(rendered[service.name], path)
            assert entry["resources"]["repositories"] == [
                {
                    "repository": "templates",
                    "type": "git",
                    "name": "contoso/pipeline-templates",
                    "ref": TEMPLATES_RELEASE_REF,
                }
            ]
            assert entry["extends"]["template"] == f"{stage_template(kind, service.build)}@templates"  # type: ignore[arg-type]
            # Nothing but triggers, resources and the service's parameters: all logic is in the template.
            assert set(entry) <= {"trigger", "pr", "resources", "extends"}


def test_ci_reads_key_vault_through_the_arm_connection_and_maps_secrets_to_env(rendered: dict[str, Files]) -> None:
    ci = compiled(ORDERS, CI_PIPELINE_PATH)
    build_job = ci["jobs"][0]

    assert ci["trigger"] == {"batch": "true", "branches": {"include": ["main"]}}
    assert ci["pr"] == "none"
    # No variable group: the secrets are read once, by the task below, on the agent.
    assert "variables" not in build_job
    (key_vault,) = tasks(build_job, "AzureKeyVault@2")
    assert key_vault["inputs"] == {
        "azureSubscription": CTX.azure_service_connection,
        "KeyVaultName": CTX.key_vault_name,
        "SecretsFilter": "appinsights-connection-string,db-password",
        "RunAsPreJob": False,
    }
    (integration,) = (step for step in tasks(build_job, "AzureCLI@2") if "tests/integration" in json.dumps(step))
    assert integration["inputs"]["inlineScript"] == (
        "python -m pytest tests/integration --junitxml=test-results/integration.xml"
    )
    # Application Insights refuses keys in prod: the exporter signs in as the pipelines identity.
    assert integration["inputs"]["azureSubscription"] == CTX.azure_service_connection
    assert integration["env"] == {
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "$(appinsights-connection-string)",
        "DB_PASSWORD": "$(db-password)",
        # Reported as "ci.orders", a role the production alerts leave out (tests/test_stage_telemetry.py).
        "SERVICE_NAME": "orders",
        "OTEL_RESOURCE_ATTRIBUTES": "service.namespace=ci",
        "TELEMETRY_AUTHENTICATION": "entra",
    }
    steps = build_job["steps"]
    assert steps.index(key_vault) < steps.index(integration)
    published = [step for step in tasks(ci, "PublishTestResults@2") if step["condition"] == "succeededOrFailed()"]
    assert [step["inputs"]["testResultsFiles"] for step in published] == [
        "test-results/unit.xml",
        "test-results/integration.xml",
    ]


def test_ci_scans_only_where_the_stack_provides_the_scan_extension() -> None:
    without = templates_repository_files(dataclasses.replace(CTX, security_scan=False))
    for build in ("python", "container"):
        path = stage_template("ci", build)
        assert tasks(load(without, path), "MicrosoftSecurityDevOps@1") == []
        assert len(tasks(load(TEMPLATES, path), "MicrosoftSecurityDevOps@1")) == 1


def test_no_step_calls_the_github_api_anonymously(rendered: dict[str, Files]) -> None:
    # KubeloginInstaller@0 without `gitHubConnection` resolves the release through api.github.com unauthenticated
    # (azure-pipelines-tasks Tasks/KubeloginInstallerV0); the template downloads the pinned release asset instead.
    for files in rendered.values():
        for path in files:
            if path.endswith(".yml"):
                assert tasks(load(files, path), "KubeloginInstaller@0") == [], path
                assert not [text for text in scripts(load(files, path)) if "api.github.com" in text], path
    kubelogin = TEMPLATES["pipelines/steps/kubelogin.yml"]
    assert "releases/download/v${{ parameters.version }}" in kubelogin
    assert "sha256sum --check --strict" in kubelogin


def test_no_script_expands_a_secret_inline(rendered: dict[str, Files]) -> None:
    for files in rendered.values():
        texts = [
            text for path, content in files.items() if path.endswith(".yml") for text in scripts(load(files, path))
        ]
        for secret in CTX.key_vault_secrets:
            assert not [text for text in texts if f"$({secret})" in text], secret


def test_ci_pushes_to_the_non_prod_registry_only_and_publishes_what_cd_needs(rendered: dict[str, Files]) -> None:
    ci = compiled(ORDERS, CI_PIPELINE_PATH)
    image_job = next(job for job in ci["jobs"] if job["job"] == "Image")

    assert image_job["dependsOn"] == "BuildAndTest"
    (docker,) = tasks(ci, "Docker@2")
    assert docker["inputs"] == {
        "command": "buildAndPush",
        "containerRegistry": CTX.registry_service_connection,
        "repository": "orders",
        "Dockerfile": "Dockerfile",
        "buildContext": ".",
        "tags": "$(Build.BuildId)",
    }
    assert CTX.prod_registry_name not in json.dumps(image_job)
    (capture,) = (step for step in image_job["steps"] if "bash" in step)
    assert "docker image inspect --format '{{index .RepoDigests 0}}'" in capture["bash"]
    assert 'image="crcontosodevnp.azurecr.io/orders:$(Build.BuildId)"' in capture["bash"]
    assert 'digest="${repo_digest#crcontosodevnp.azurecr.io/orders@}"' in capture["bash"]
    assert f'"$(Build.ArtifactStagingDirectory)/{IMAGE_ARTIFACT}/{IMAGE_DIGEST_FILE}"' in capture["bash"]
    (msdo,) = tasks(ci, "MicrosoftSecurityDevOps@1")
    assert msdo["inputs"]["break"] is True
    published = {
        step["inputs"]["artifact"]: step["inputs"]["targetPath"] for step in tasks(ci, "PublishPipelineArtifact@1")
    }
    assert published == {
        WHEEL_ARTIFACT: "dist",
        MANIFESTS_ARTIFACT: f"$(Build.ArtifactStagingDirectory)/{MANIFESTS_ARTIFACT}",
        IMAGE_ARTIFACT: f"$(Build.ArtifactStagingDirectory)/{IMAGE_ARTIFACT}",
    }
    # Nothing reaches the digest artifact (so nothing reaches CD) unless the scan passed.
    assert image_job["steps"].index(msdo) < image_job["steps"].index(tasks(image_job, "PublishPipelineArtifact@1")[0])


def test_ci_renders_both_clusters_manifests_from_the_templates_release(rendered: dict[str, Files]) -> None:
    ci = compiled(ORDERS, CI_PIPELINE_PATH)
    job = next(job for job in ci["jobs"] if job["job"] == "Manifests")
    checkout, endpoint, render, publish = job["steps"]
    # The renderer comes from the templates repository at the release the run resolved, not from the service.
    assert checkout == {"checkout": "templates"}
    # The telemetry endpoint is read from the vault when the job runs: no committed file holds it.
    assert endpoint["task"] == "AzureKeyVault@2"
    assert endpoint["inputs"]["SecretsFilter"] == "appinsights-connection-string"
    for stage, registry in REGISTRIES.items():
        assert (
            f"python3 {MANIFEST_RENDERER} --stage {stage} --registry {registry} "
            '--connection-string "$APPLICATIONINSIGHTS_CONNECTION_STRING" '
            f'--output "$(Build.ArtifactStagingDirectory)/{MANIFESTS_ARTIFACT}/{MANIFEST_FILES[stage]}"'
        ) in render["bash"]
    # The entry's `manifest` object, as the template expression hands it to the step.
    assert render["env"] == {
        "SERVICE_MANIFEST": "${{ convertToJson(parameters.manifest) }}",
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "$(appinsights-connection-string)",
    }
    assert load(rendered["orders"], CI_PIPELINE_PATH)["extends"]["parameters"]["manifest"] == manifest_parameters(
        ORDERS, CLIENT_IDS
    )
    assert publish["inputs"]["artifact"] == MANIFESTS_ARTIFACT


def test_cd_stages_run_in_order_with_an_agentless_manual_validation(rendered: dict[str, Files]) -> None:
    cd = compiled(ORDERS, CD_PIPELINE_PATH)

    assert cd["trigger"] == "none"
    assert cd["pr"] == "none"
    assert cd["resources"]["pipelines"] == [
        {"pipeline": "ci", "source": "orders-ci", "trigger": {"branches": {"include": ["main"]}}}
    ]
    assert [candidate["stage"] for candidate in cd["stages"]] == CD_STAGES
    assert [candidate.get("dependsOn") for candidate in cd["stages"]] == [None, *CD_STAGES[:-1]]
    # "Stages to run" cannot deselect the tests or the approval promotion follows.
    assert [candidate.get("isSkippable") for candidate in cd["stages"]] == ["false"] * len(CD_STAGES)
    (job,) = stage(cd, "ManualValidation")["jobs"]
    assert job["pool"] == "server"
    (validation,) = job["steps"]
    assert validation["task"] == "ManualValidation@1"
    assert validation["inputs"]["onTimeout"] == "reject"
    assert 0 < validation["timeoutInMinutes"] < int(job["timeoutInMinutes"])


def test_cd_deploys_the_ci_digest_to_each_cluster_through_the_arm_connection(rendered: dict[str, Files]) -> None:
    files = rendered["orders"]
    cd = load(files, stage_template("cd", "python"))
    deploy = load(files, "pipelines/steps/deploy-aks.yml")
    # The credential call the Cluster User role grants, not the deprecated access-profile one.
    assert {"name": "USE_AKS_CREDENTIAL_API", "value": "true"} in deploy["jobs"][0]["variables"]

    expected = {
        "Staging": (
            CTX.staging_environment,
            CTX.staging_cluster,
            STAGING_MANIFEST,
            CTX.nonprod_registry_login_server,
            CTX.azure_service_connection,
        ),
        # Production through its own connection, which signs in as the release identity.
        "Production": (
            CTX.production_environment,
            CTX.production_cluster,
            PRODUCTION_MANIFEST,
            CTX.prod_registry_login_server,
            CTX.production_service_connection,
        ),
    }
    for name, (environment, cluster, manifest_file, login_server, connection) in expected.items():
        (job,) = stage(cd, name)["jobs"]
        assert job["template"] == "steps/deploy-aks.yml"
        assert job["parameters"] == {
            # The environment itself: no Kubernetes resource, whose view Azure DevOps' servers would have to fetch.
            "environment": environment,
            "azureServiceConnection": connection,
            "resourceGroup": CTX.resource_group,
            "cluster": cluster,
            "namespace": "${{ parameters.service }}",
            "manifest": manifest_file,
            "imageRepository": f"{login_server}/${{{{ parameters.service }}}}",
            "kubeloginVersion": KUBELOGIN_VERSION,
        }
    (deployment,) = deploy["jobs"]
    assert deployment["environment"] == "${{ parameters.environment }}"
    steps = deployment["strategy"]["runOnce"]["deploy"]["steps"]
    assert [step.get("task") or step.get("template") or step.get("download") for step in steps] == [
        "ci",
        "image-digest.yml",
        "kubelogin.yml",
        "KubernetesManifest@1",
    ]
    assert steps[0]["artifact"] == MANIFESTS_ARTIFACT
    assert steps[-1]["inputs"] == {
        "action": "deploy",
        "connectionType": "azureResourceManager",
        "azureSubscriptionConnection": "${{ parameters.azureServiceConnection }}",
        "azureResourceGroup": "${{ parameters.resourceGroup }}",
        "kubernetesCluster": "${{ parameters.cluster }}",
        "namespace": "${{ parameters.namespace }}",
        "manifests": "$(Pipeline.Workspace)/ci/manifests/${{ parameters.manifest }}",
        "containers": "${{ parameters.imageRepository }}@$(imageDigest)",
    }
    digest = load(files, "pipelines/steps/image-digest.yml")
    assert digest["steps"][0] == {"download": "ci", "artifact": IMAGE_ARTIFACT, "displayName": "Download image digest"}
    assert f"$(Pipeline.Workspace)/ci/{IMAGE_ARTIFACT}/{IMAGE_DIGEST_FILE}" in digest["steps"][1]["bash"]
    # Compiled for orders, the deployment names orders' namespace and image.
    deploy_job = stage(compiled(ORDERS, CD_PIPELINE_PATH), "Staging")["jobs"][0]
    assert deploy_job["environment"] == CTX.staging_environment
    (apply,) = tasks(deploy_job, "KubernetesManifest@1")
    assert apply["inputs"]["namespace"] == "orders"
    assert apply["inputs"]["containers"] == f"{CTX.nonprod_registry_login_server}/orders@$(imageDigest)"


def test_cd_downloads_only_what_ci_publishes(rendered: dict[str, Files]) -> None:
    published = {
        task["inputs"]["artifact"] for task in tasks(compiled(ORDERS, CI_PIPELINE_PATH), "PublishPipelineArtifact@1")
    }
    downloads = [step for step in walk(compiled(ORDERS, CD_PIPELINE_PATH)) if "download" in step]

    assert {step["download"] for step in downloads} == {"ci"}
    assert {step["artifact"] for step in downloads} == {MANIFESTS_ARTIFACT, IMAGE_ARTIFACT} <= published


# KubernetesManifest@1's deploy substitutes images on parsed objects, not lines (microsoft/azure-pipelines-tasks,
# Tasks/KubernetesManifestV1/src/utils/DeploymentHelper.ts `updateResourceObjects`: js-yaml `safeLoadAll`, then the
# objects written back and applied). Only workload kinds are touched (kubernetes-common kubernetesconstants.ts
# `workloadTypes`, compared ignoring case), and in them every container and init container of the pod template
# (KubernetesObjectUtility.ts `updateImageDetails`) whose image name equals a `containers` entry's name gets that entry
# (`updateContainers`).
_WORKLOAD_KINDS = frozenset({"deployment", "replicaset", "daemonset", "pod", "statefulset", "job", "cronjob"})


def _image_name(image: str) -> str:
    """KubernetesObjectUtility.ts `extractImageName`: the registry (up to the first "/") and the repository before
    its first ":", without an "@sha256" digest; an image without "/" is cut at its first ":"."""
    slash = image.find("/")
    name = (
        f"{image[:slash]}/{image[slash + 1 :].split(':', maxsplit=1)[0]}"
        if slash > 0
        else image.split(":", maxsplit=1)[0]
    )
    return name.split("@sha256")[0]


def _pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec") or {}
    if (spec.get("template") or {}).get("spec"):
        return [spec["template"]["spec"]]
    job = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    return [job["spec"]] if job.get("spec") else [spec]


def substitute_like_kubernetes_manifest(manifest: str, container: str) -> str:
    """The stream KubernetesManifest@1 applies after substituting its `containers` input `container`."""
    objects = list(yaml.safe_load_all(manifest))
    for obj in objects:
        if obj and str(obj.get("kind", "")).lower() in _WORKLOAD_KINDS:
            for pod in _pod_specs(obj):
                for entry in [*pod.get("containers", []), *pod.get("initContainers", [])]:
                    if _image_name(entry["image"].strip()) == _image_name(container):
                        entry["image"] = container
    return yaml.safe_dump_all(objects, sort_keys=False)


@pytest.mark.parametrize("stage_name", ["staging", "production"])
def test_kubernetes_manifest_substitution_pins_each_cluster_to_its_registry_by_digest(stage_name: str) -> None:
    content = manifest(ORDERS, stage_name)
    login_server = REGISTRIES[stage_name]

    deployed = substitute_like_kubernetes_manifest(content, f"{login_server}/orders@{DIGEST}")

    (deployment,) = kind(deployed, "Deployment")
    assert [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]] == [
        f"{login_server}/orders@{DIGEST}"
    ]
    (template,) = kind(content, "Deployment")
    assert template["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":{renderer().UNPINNED_IMAGE_TAG}")


def test_the_substitution_pins_only_the_image_of_the_same_registry_and_repository() -> None:
    login_server = REGISTRIES["staging"]
    content = manifest(ORDERS, "staging")
    (deployment,) = kind(content, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    image = pod["containers"][0]["image"]
    sidecars = [f"other.azurecr.io/orders:{renderer().UNPINNED_IMAGE_TAG}", "orders:1.0", f"{login_server}/ordersx:1"]
    pod["containers"] += [{**pod["containers"][0], "name": f"c{i}", "image": other} for i, other in enumerate(sidecars)]
    pod["initContainers"] = [{**pod["containers"][0], "name": "init", "image": image}]
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"image": image}}

    pinned = f"{login_server}/orders@{DIGEST}"
    deployed = substitute_like_kubernetes_manifest(yaml.safe_dump_all([deployment, configmap]), pinned)

    (deployment,) = kind(deployed, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["containers"]] == [pinned, *sidecars]
    assert [c["image"] for c in pod["initContainers"]] == [pinned]
    assert kind(deployed, "ConfigMap")[0]["data"] == {"image": image}
    # extractImageName keeps the registry: a digest for one registry never pins another's image.
    assert substitute_like_kubernetes_manifest(content, f"other.azurecr.io/orders@{DIGEST}") == yaml.safe_dump_all(
        list(yaml.safe_load_all(content)), sort_keys=False
    )


def test_acceptance_tests_reach_staging_through_a_port_forward(rendered: dict[str, Files]) -> None:
    cd = compiled(BILLING, CD_PIPELINE_PATH)
    (job,) = stage(cd, "AcceptanceTests")["jobs"]
    steps = job["steps"]

    assert steps[0]["task"] == "UsePythonVersion@0"
    (kubelogin,) = (step for step in steps if "kubelogin" in step.get("bash", ""))
    (cli,) = tasks(job, "AzureCLI@2")
    assert steps.index(kubelogin) < steps.index(cli)
    assert cli["inputs"]["azureSubscription"] == CTX.azure_service_connection
    assert cli["env"] == {"STAGING_BASE_URL": "http://127.0.0.1:9090"}
    script = cli["inputs"]["inlineScript"]
    for command in (
        f"az aks get-credentials --resource-group {CTX.resource_group} --name {CTX.staging_cluster} \\\n"
        "  --format azure",
        "kubelogin convert-kubeconfig -l azurecli",
        "kubectl port-forward --namespace billing service/billing \\\n  9090:9090",
        "python -m pytest tests/acceptance --junitxml=test-results/acceptance.xml",
    ):
        assert command in script
    assert script.index("port-forward") < script.index("tests/acceptance")
    (publish,) = tasks(job, "PublishTestResults@2")
    assert publish["condition"] == "succeededOrFailed()"


def test_promote_imports_the_same_digest_registry_to_registry(rendered: dict[str, Files]) -> None:
    cd = compiled(ORDERS, CD_PIPELINE_PATH)
    (job,) = stage(cd, "Promote")["jobs"]

    assert job["steps"][0] == {"checkout": "none"}
    assert job["steps"][1]["download"] == "ci"
    (cli,) = tasks(job, "AzureCLI@2")
    assert cli["inputs"]["azureSubscription"] == CTX.production_service_connection
    script = " ".join(cli["inputs"]["inlineScript"].replace("\\\n", " ").split())
    assert 'source_registry="$(az acr show --name crcontosodevnp --query id --output tsv)"' in script
    assert (
        'az acr import --name crcontosodevprod --registry "$source_registry" --source "orders@$(imageDigest)" '
        '--image "orders:$(resources.pipeline.ci.runID)" --force'
    ) in script
    assert 'az acr repository show --name crcontosodevprod --image "orders:$(resources.pipeline.ci.runID)"' in script
    assert '[ "$imported" != "$(imageDigest)" ]' in script
    assert "docker" not in json.dumps(cd)


# --- Kubernetes template ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
@pytest.mark.parametrize("stage_name", ["staging", "production"])
def test_kubernetes_template_is_locked_down(service: ServiceSpec, stage_name: str) -> None:
    content = manifest(service, stage_name)
    docs = documents(content)

    assert sorted(doc["kind"] for doc in docs) == sorted(
        ["ServiceAccount", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"]
        + ["NetworkPolicy"] * 4
    )
    assert {doc["metadata"]["namespace"] for doc in docs} == {service.name}
    (deployment,) = kind(content, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == service.name
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] >= 10000
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["ports"] == [{"name": "http", "containerPort": service.port, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["resources"] == {
        "requests": {"cpu": service.cpu_request, "memory": service.memory_request},
        "limits": {"cpu": service.cpu_limit, "memory": service.memory_limit},
    }
    assert not container["image"].endswith(":latest")
    assert {"name": "PORT", "value": str(service.port)} in container["env"]
    (account,) = kind(content, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    (svc,) = kind(content, "Service")
    assert svc["spec"]["type"] == "ClusterIP"
    (hpa,) = kind(content, "HorizontalPodAutoscaler")
    assert (hpa["apiVersion"], hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
        "autoscaling/v2",
        service.replicas,
        service.max_replicas,
    )
    assert "replicas" not in deployment["spec"]
    (pdb,) = kind(content, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    policies = {doc["metadata"]["name"]: doc["spec"] for doc in kind(content, "NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    ingress = policies[f"{service.name}-allow-ingress"]["ingress"]
    assert ingress == [{"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": service.port}]}]
    egress = policies["allow-dns-egress"]["egress"]
    assert [port["port"] for rule in egress for port in rule["ports"]] == [53, 53]
    (telemetry,) = policies[f"{service.name}-allow-telemetry-egress"]["egress"]
    assert telemetry["ports"] == [{"protocol": "TCP", "port": 443}]
    assert telemetry["to"] == [
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}
    ]
    # Telemetry signs in as the service's own identity in this cluster: the webhook injects it into labelled pods,
    # taking the client ID from the service account's annotation; the connection string only says where to send.
    assert deployment["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert account["metadata"]["annotations"] == {"azure.workload.identity/client-id": CLIENT_IDS[stage_name]}
    assert account["metadata"]["name"] == pod["serviceAccountName"]
    assert {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "value": CONNECTION_STRING} in container["env"]
    assert {"name": "TELEMETRY_AUTHENTICATION", "value": "entra"} in container["env"]
    assert [volume["name"] for volume in pod["volumes"]] == ["tmp"], "no secret is mounted"


# --- rendering ----------------------------------------------------------------------------------------------------


def test_entry_pipelines_and_names(rendered: dict[str, Files]) -> None:
    names = pipeline_names(ORDERS)

    assert (names.pr, names.ci, names.cd) == ("orders-pr", "orders-ci", "orders-cd")
    assert list(entries(ORDERS)) == [PR_PIPELINE_PATH, CI_PIPELINE_PATH, CD_PIPELINE_PATH]
    for path in entries(ORDERS):
        assert path.endswith("azure-pipelines.yml")
    assert list(TEMPLATES) == sorted(TEMPLATES)


def test_every_template_reference_resolves_with_its_declared_parameters(rendered: dict[str, Files]) -> None:
    references = 0
    for service in ALL:
        files = rendered[service.name]
        for path, content in files.items():
            if not path.endswith(".yml"):
                continue
            for node in walk(yaml.safe_load(content)):
                if "template" not in node:
                    continue
                reference, _, alias = str(node["template"]).partition("@")
                target = reference if alias else posixpath.normpath(posixpath.join(posixpath.dirname(path), reference))
                assert target in files, f"{path} refers to missing {target}"
                declared = {param["name"]: param for param in load(files, target).get("parameters", [])}
                passed = set(node.get("parameters", {}))
                assert passed <= set(declared), path
                assert {name for name, param in declared.items() if "default" not in param} <= passed, path
                references += 1
    assert references >= 6 * len(ALL)


def _swap(node: Any, old: ServiceSpec, new: ServiceSpec) -> Any:
    """The parsed files of `old` with its name and port replaced by those of `new`, in one pass over each string."""
    if isinstance(node, dict):
        return {_swap(key, old, new): _swap(value, old, new) for key, value in node.items()}
    if isinstance(node, list):
        return [_swap(item, old, new) for item in node]
    if isinstance(node, str):
        replacements = {old.name: new.name, str(old.port): str(new.port)}
        return re.sub("|".join(map(re.escape, replacements)), lambda match: replacements[match.group(0)], node)
    if node == old.port and not isinstance(node, bool):
        return new.port
    return node


def _parsed(files: Files) -> dict[str, list[Any]]:
    return {path: list(yaml.safe_load_all(content)) for path, content in files.items()}


def test_rendering_is_deterministic() -> None:
    assert templates_repository_files(CTX) == TEMPLATES
    assert entries(ORDERS) == entries(ORDERS)


def test_two_services_differ_only_in_name_and_port() -> None:
    assert list(entries(BILLING)) == list(entries(ORDERS))
    assert _parsed(entries(BILLING)) == _swap(_parsed(entries(ORDERS)), ORDERS, BILLING)


@settings(max_examples=20, deadline=None)
@given(
    name=st.from_regex(r"\A[a-z]([a-z0-9-]{0,20}[a-z0-9])?\Z").filter(lambda name: "--" not in name),
    port=st.integers(min_value=1024, max_value=65535),
)
def test_any_service_renders_as_the_template_with_its_name_and_port(name: str, port: int) -> None:
    # "orders" and 8080 occur in orders' files only as its name and port, so swapping them must yield the new service.
    service = ServiceSpec(name=name, port=port)

    assert _parsed(entries(service)) == _swap(_parsed(entries(ORDERS)), ORDERS, service)


# --- input validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "Orders"}, "ServiceSpec.name"),
        ({"name": "orders-"}, "ServiceSpec.name"),
        ({"name": "o" * 64}, "ServiceSpec.name"),
        ({"port": 80}, "ServiceSpec.port"),
        ({"port": 70000}, "ServiceSpec.port"),
        ({"replicas": 0}, "ServiceSpec.replicas"),
        ({"replicas": 6}, "ServiceSpec.max_replicas"),
        ({"cpu_request": "100x"}, "ServiceSpec.cpu_request"),
        ({"cpu_request": "0"}, "ServiceSpec.cpu_request"),
        ({"cpu_request": "2"}, "ServiceSpec.cpu_request"),
        ({"memory_limit": "lots"}, "ServiceSpec.memory_limit"),
        ({"memory_request": "1Gi"}, "ServiceSpec.memory_request"),
    ],
)
def test_invalid_service_spec_names_the_field(overrides: Mapping[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=re.escape(field)):
        ServiceSpec(**{"name": "orders", **overrides})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"resource_group": " "}, "PipelineContext.resource_group"),
        ({"key_vault_secrets": ("db-password",)}, "PipelineContext.key_vault_secrets"),
        ({"key_vault_secrets": ("appinsights-connection-string", "db_password")}, "PipelineContext.key_vault_secrets"),
        ({"nonprod_registry_login_server": "cr.azurecr.io/team"}, "PipelineContext.nonprod_registry_login_server"),
        ({"staging_environment": "stage.one"}, "PipelineContext.staging_environment"),
    ],
)
def test_invalid_pipeline_context_names_the_field(overrides: Mapping[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=re.escape(field)):
        PipelineContext(**{**vars(CTX), **overrides})


def test_promotion_can_be_restricted_to_the_production_approvers() -> None:
    ctx = replace(CTX, promotion_approvers=("lead@contoso.com", "sre@contoso.com"), approval_timeout_minutes=60)
    cd = yaml.safe_load(templates_repository_files(ctx)[stage_template("cd", "python")])
    stage = next(stage for stage in cd["stages"] if stage["stage"] == "ManualValidation")
    inputs = stage["jobs"][0]["steps"][0]["inputs"]
    assert inputs["approvers"] == "lead@contoso.com,sre@contoso.com"
    assert inputs["notifyUsers"] == "lead@contoso.com,sre@contoso.com"
    assert inputs["allowApproversToApproveTheirOwnRuns"] is False
    # The same wait as the production environment's approval check; the agentless job outlives its task.
    assert stage["jobs"][0]["steps"][0]["timeoutInMinutes"] == 60
    assert int(stage["jobs"][0]["timeoutInMinutes"]) > 60


# --- traffic into and between services ----------------------------------------------------------------------------


def _kinds(service: ServiceSpec, wanted: str, stage: str = "staging") -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents(manifest(service, stage)) if d["kind"] == wanted}


def test_an_unexposed_service_has_no_ingress_and_admits_only_its_own_namespace() -> None:
    assert _kinds(ORDERS, "Ingress") == {}
    policies = _kinds(ORDERS, "NetworkPolicy")
    assert sorted(policies) == [
        "allow-dns-egress",
        "default-deny",
        "orders-allow-ingress",
        "orders-allow-telemetry-egress",
    ]


@pytest.mark.parametrize(
    ("stage", "host", "certificate"),
    [
        ("production", "shop.contoso.com", GATEWAY.tls_certificate_uri),
        ("staging", "staging.shop.contoso.com", GATEWAY.staging_tls_certificate_uri),
    ],
)
def test_an_exposed_service_gets_an_ingress_of_its_class_with_its_stages_tls_from_key_vault(
    stage: str, host: str, certificate: str
) -> None:
    (gateway,) = _kinds(GATEWAY, "Ingress", stage).values()
    assert gateway["metadata"]["annotations"] == {"kubernetes.azure.com/tls-cert-keyvault-uri": certificate}
    assert gateway["spec"]["ingressClassName"] == "webapprouting.kubernetes.azure.com"
    assert gateway["spec"]["tls"] == [{"hosts": [host], "secretName": "keyvault-gateway"}]
    (rule,) = gateway["spec"]["rules"]
    assert rule["host"] == host
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": "gateway", "port": {"name": "http"}}}


def test_staging_without_a_pair_of_its_own_answers_inside_the_network_never_with_productions_certificate() -> None:
    # The add-on copies a served certificate into the namespace, where in staging a service's own tests read it; a
    # public service's pre-release code stays off the internet (the acceptance tests port-forward).
    production_only = dataclasses.replace(GATEWAY, staging_host=None, staging_tls_certificate_uri=None)
    (staging,) = _kinds(production_only, "Ingress").values()
    assert "annotations" not in staging["metadata"]
    assert "tls" not in staging["spec"]
    assert staging["spec"]["ingressClassName"] == "nginx-internal"
    assert staging["spec"]["rules"][0]["host"] == "gateway.staging.internal"
    assert _kinds(production_only, "Ingress", "production") == _kinds(GATEWAY, "Ingress", "production")


def test_a_spec_serving_productions_certificate_in_staging_is_refused() -> None:
    with pytest.raises(ValueError, match="staging_tls_certificate_uri: production's certificate"):
        dataclasses.replace(GATEWAY, staging_tls_certificate_uri=GATEWAY.tls_certificate_uri)
    with pytest.raises(ValueError, match="staging_tls_certificate_uri: a certificate is served for a host"):
        dataclasses.replace(GATEWAY, staging_host=None)


def test_an_internal_service_without_a_host_gets_an_ingress_of_the_internal_class() -> None:
    for stage, host in (("staging", {"host": "ledger.staging.internal"}), ("production", {})):
        (ledger,) = _kinds(LEDGER, "Ingress", stage).values()
        assert ledger["spec"]["ingressClassName"] == "nginx-internal"
        assert "tls" not in ledger["spec"]
        assert {key: value for key, value in ledger["spec"]["rules"][0].items() if key == "host"} == host


def test_exactly_the_declared_paths_are_open() -> None:
    controller = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "app-routing-system"}}}

    def pods(name: str) -> dict[str, Any]:
        return {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
        }

    gateway = _kinds(GATEWAY, "NetworkPolicy")
    ledger = _kinds(LEDGER, "NetworkPolicy")
    assert gateway["gateway-allow-ingress-controller"]["spec"]["ingress"] == [
        {"from": [controller], "ports": [{"protocol": "TCP", "port": 8080}]}
    ]
    assert gateway["gateway-allow-egress-to-ledger"]["spec"]["egress"] == [
        {"to": [pods("ledger")], "ports": [{"protocol": "TCP", "port": 9000}]}
    ]
    assert ledger["ledger-allow-from-gateway"]["spec"]["ingress"] == [
        {"from": [pods("gateway")], "ports": [{"protocol": "TCP", "port": 9000}]}
    ]
    # Nothing more: the ledger calls no one, and the gateway admits no service but through its ingress.
    assert not [name for name in ledger if "egress-to" in name]
    assert not [name for name in gateway if "allow-from" in name]


# --- any language: a service built the container way --------------------------------------------------------------


def test_a_container_built_service_runs_no_python_step(rendered: dict[str, Files]) -> None:
    for path in (PR_PIPELINE_PATH, CI_PIPELINE_PATH, CD_PIPELINE_PATH):
        document = compiled(LEDGER, path)
        assert tasks(document, "UsePythonVersion@0") == [], path
        assert not [text for text in scripts(document) if "python " in text or "pytest" in text], path
    for kind in ("pr", "ci", "cd"):
        template = load(TEMPLATES, stage_template(kind, "container"))
        assert not {step["template"] for step in walk(template) if "python" in step.get("template", "")}, kind
    (unit,) = load(TEMPLATES, stage_template("pr", "container"))["steps"]
    assert unit == {
        "template": "steps/container-tests.yml",
        "parameters": {"suite": "unit", "target": "test-results"},
    }
    build = load(TEMPLATES, stage_template("ci", "container"))["jobs"][0]["steps"]
    assert build[0] == unit
    (integration,) = [step for step in build if step.get("parameters", {}).get("suite") == "integration"]
    assert integration["parameters"]["target"] == "integration-test-results"
    # Every Key Vault secret reaches the build as a BuildKit secret, read from the step's mapped environment.
    assert integration["parameters"]["secretArguments"] == (
        "--secret id=appinsights-connection-string,env=APPLICATIONINSIGHTS_CONNECTION_STRING "
        "--secret id=db-password,env=DB_PASSWORD"
    )
    assert integration["parameters"]["env"] == {
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "$(appinsights-connection-string)",
        "DB_PASSWORD": "$(db-password)",
        "SERVICE_NAME": "${{ parameters.service }}",
        "OTEL_RESOURCE_ATTRIBUTES": "service.namespace=ci",
    }
    acceptance = stage(compiled(LEDGER, CD_PIPELINE_PATH), "AcceptanceTests")["jobs"][0]
    (cli,) = tasks(acceptance, "AzureCLI@2")
    assert "docker build --target acceptance" in cli["inputs"]["inlineScript"]
    assert "docker run --rm --network host --env STAGING_BASE_URL" in cli["inputs"]["inlineScript"]


def test_the_container_tests_template_publishes_results_before_failing() -> None:
    template = yaml.safe_load(TEMPLATES["pipelines/steps/container-tests.yml"].split("\n", 1)[1])
    run, publish, verdict = template["steps"]
    assert '--output "type=local,dest=test-results/${{ parameters.suite }}"' in run["bash"]
    assert publish["task"] == "PublishTestResults@2"
    assert publish["condition"] == "succeededOrFailed()"
    assert 'status="$(cat "test-results/${{ parameters.suite }}/status"' in verdict["bash"]
