"""Pipelines <-> Azure DevOps: every pool, connection, environment (and resource), variable group, repository and
pipeline resource, template and marketplace task the committed YAML names resolves to an object of the stack in the
definition's project, and each definition is authorized for exactly the protected objects it uses."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests import validators
from tools import capture, devops_index, pipeline_links
from tools.capture import Capture, Registration

DEVOPS = "azuredevops:index/"


@pytest.fixture(scope="module")
def builtin() -> frozenset[str]:
    tasks = pipeline_links.builtin_tasks(validators.azure_pipelines_schema())
    assert {"AzureCLI@2", "KubernetesManifest@1", "ManualValidation@1"} <= tasks
    assert "MicrosoftSecurityDevOps@1" not in tasks, "a marketplace task must not count as built in"
    return tasks


def messages(findings: list[pipeline_links.Finding]) -> list[str]:
    return [str(finding) for finding in findings]


def test_every_name_in_every_committed_pipeline_resolves_and_is_authorized(
    estate: Capture, builtin: frozenset[str]
) -> None:
    assert messages(pipeline_links.check(estate, builtin)) == []


def test_the_check_walks_every_definition_through_its_templates(prod: Capture, builtin: frozenset[str]) -> None:
    # A check that reads nothing passes everything: it must have found the objects the CD pipeline uses via templates.
    estate = devops_index.build_index(prod, {})
    runs = {run.definition.name: run for run in pipeline_links.runs(estate, builtin)}
    services = len(settings_services(prod))
    # Three per service, and the templates repository's build validation.
    assert len(runs) == 3 * services + 1
    cd = next(run for name, run in runs.items() if name.endswith("-cd"))
    assert {kind for kind, _ in cd.used} == {"queue", "endpoint", "environment", "repository"}
    assert cd.extends is not None
    assert cd.extends[1:] == ("refs/heads/release", "pipelines/cd-python.yml")


def test_a_stack_adopting_the_scan_extension_renders_the_scan_and_imports_the_installation(
    builtin: frozenset[str],
) -> None:
    config, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
    adopted = capture.run("dev", {**config, "aks-estate:securityScanExtension": "adopt"}, secret_keys)
    (extension,) = adopted.of_type(f"{DEVOPS}extension:Extension")
    assert extension.import_id == "ms-securitydevops/microsoft-security-devops-azdevops"
    assert extension.retain_on_delete
    ci = [
        r
        for r in adopted.of_type(f"{DEVOPS}gitRepositoryFile:GitRepositoryFile")
        if r.inputs["file"] in {"pipelines/ci-python.yml", "pipelines/ci-container.yml"}
    ]
    assert len(ci) == 2
    assert all("MicrosoftSecurityDevOps@1" in r.inputs["content"] for r in ci)
    assert messages(pipeline_links.check(adopted, builtin)) == []


# --- planted mistakes: each kind of broken link is reported, naming the file, the YAML path and the object --------


Mutation = Callable[[list[Registration]], list[Registration]]


def _type(registration: Registration, token: str) -> bool:
    return registration.type == f"{DEVOPS}{token}"


def drop(token: str, where: Callable[[Registration], bool] = lambda _: True) -> Mutation:
    return lambda rs: [r for r in rs if not (_type(r, token) and where(r))]


def change(token: str, where: Callable[[Registration], bool], **inputs: object) -> Mutation:
    def apply(rs: list[Registration]) -> list[Registration]:
        return [
            dataclasses.replace(r, inputs={**r.inputs, **inputs}) if _type(r, token) and where(r) else r for r in rs
        ]

    return apply


def edit_file(suffix: str, edit: Callable[[dict[str, Any]], None]) -> Mutation:
    def apply(rs: list[Registration]) -> list[Registration]:
        out = []
        for r in rs:
            if _type(r, "gitRepositoryFile:GitRepositoryFile") and r.inputs["file"].endswith(suffix):
                document = yaml.safe_load(r.inputs["content"])
                edit(document)
                out.append(dataclasses.replace(r, inputs={**r.inputs, "content": yaml.safe_dump(document)}))
            else:
                out.append(r)
        return out

    return apply


def _authorized_for(kind: str, pipeline_suffix: str, prod: Capture) -> Callable[[Registration], bool]:
    definitions = {
        r.id
        for r in prod.of_type(f"{DEVOPS}buildDefinition:BuildDefinition")
        if r.inputs["name"].endswith(pipeline_suffix)
    }
    return lambda r: r.inputs["type"] == kind and str(r.inputs["pipelineId"]) in definitions


def _extra_authorization(prod: Capture) -> Mutation:
    (pr,) = [r for r in prod.of_type(f"{DEVOPS}buildDefinition:BuildDefinition") if r.inputs["name"].endswith("-pr")]
    (azure,) = [
        r
        for r in prod.of_type(f"{DEVOPS}serviceEndpointAzureRM:ServiceEndpointAzureRM")
        if r.inputs["serviceEndpointName"].endswith("-azure")
    ]

    def apply(rs: list[Registration]) -> list[Registration]:
        template = next(r for r in rs if _type(r, "pipelineAuthorization:PipelineAuthorization"))
        extra = dataclasses.replace(
            template,
            urn=template.urn + "-planted",
            inputs={**template.inputs, "pipelineId": int(pr.id), "type": "endpoint", "resourceId": azure.id},
        )
        return [*rs, extra]

    return apply


def settings_services(estate: Capture) -> list[Registration]:
    return [r for r in estate.of_type(f"{DEVOPS}buildDefinition:BuildDefinition") if r.inputs["name"].endswith("-ci")]


def _templates_from_main(document: dict[str, Any]) -> None:
    # A team pointing its CD at the templates' unreleased main branch.
    document["resources"]["repositories"][0]["ref"] = "refs/heads/main"


def _unknown_task(document: dict[str, Any]) -> None:
    document["jobs"][0]["steps"].append({"task": "HelmDeploy@0", "inputs": {"command": "upgrade"}})


def _without_extends(document: dict[str, Any]) -> None:
    # A contributor's pull request that runs its own steps on the project's pool instead of a released template.
    document.pop("extends")
    document.pop("resources", None)
    document.update(pool={"name": "mdp-contoso-prod"}, steps=[{"bash": "curl -s https://10.0.0.4/"}])


PLANTED: dict[str, tuple[Callable[[Capture], Mutation], str]] = {
    "agent queue without a required-template check": (
        lambda prod: drop(
            "checkRequiredTemplate:CheckRequiredTemplate", lambda r: r.inputs["targetResourceType"] == "queue"
        ),
        "pipeline 'orders-pr' uses queue 'mdp-contoso-prod', which carries no required-template check",
    ),
    "service entry pipeline that extends no template": (
        lambda prod: edit_file("pr.azure-pipelines.yml", _without_extends),
        "pipeline 'orders-pr' uses queue 'mdp-contoso-prod', whose required-template check admits only",
    ),
    "templates validation that extends no template": (
        lambda prod: edit_file("validate.azure-pipelines.yml", _without_extends),
        "pipeline 'pipeline-templates-validation' uses queue 'mdp-contoso-prod', whose required-template check "
        "admits only",
    ),
    # Planted: the prod stack's Managed DevOps Pool lists another project, so no queue of its name exists in ours.
    "pool without a project queue": (
        lambda prod: (
            lambda rs: [
                dataclasses.replace(
                    r,
                    inputs={
                        **r.inputs,
                        "organizationProfile": {
                            **r.inputs["organizationProfile"],
                            "organizations": [
                                {**o, "projects": ["another-project"]}
                                for o in r.inputs["organizationProfile"]["organizations"]
                            ],
                        },
                    },
                )
                if r.type == "azure-native:devopsinfrastructure:Pool"
                else r
                for r in rs
            ]
        ),
        "pipelines/pr-python.yml: pool.name: pool 'mdp-contoso-prod' does not exist",
    ),
    "connection used without authorization": (
        lambda prod: drop("pipelineAuthorization:PipelineAuthorization", _authorized_for("endpoint", "-ci", prod)),
        "pipeline 'orders-ci' uses endpoint 'contoso-prod-registry' but is not authorized for it",
    ),
    "authorization nothing uses": (
        _extra_authorization,
        "pipeline 'orders-pr' is authorized for endpoint 'contoso-prod-azure' that it never uses",
    ),
    "marketplace task without its extension": (
        lambda prod: drop("extension:Extension"),
        "pipelines/ci-python.yml: jobs[2].steps[2].task: marketplace task 'MicrosoftSecurityDevOps@1'",
    ),
    "environment renamed": (
        lambda prod: change("environment:Environment", lambda r: r.inputs["name"] == "staging", name="stage"),
        "pipelines/steps/deploy-aks.yml: jobs[0].environment: environment 'staging' does not exist",
    ),
    "templates repository not open to the pipelines": (
        lambda prod: drop("pipelineAuthorization:PipelineAuthorization", lambda r: r.inputs["type"] == "repository"),
        "pipeline 'orders-cd' uses repository 'pipeline-templates' but is not authorized for it",
    ),
    "extended template missing from the templates repository": (
        lambda prod: drop(
            "gitRepositoryFile:GitRepositoryFile", lambda r: r.inputs["file"] == "pipelines/cd-python.yml"
        ),
        "extends.template: template 'pipelines/cd-python.yml' is not in repository 'pipeline-templates'",
    ),
    "templates repository renamed": (
        lambda prod: change("git:Git", lambda r: r.inputs["name"] == "pipeline-templates", name="templates"),
        "resources.repositories[0].name: repository resource 'aks-estate/pipeline-templates' does not resolve",
    ),
    "entry pipeline reading the templates at a ref the checks do not admit": (
        lambda prod: edit_file("cd.azure-pipelines.yml", _templates_from_main),
        "uses environment 'production', whose required-template check admits only "
        "['pipelines/cd-container.yml', 'pipelines/cd-python.yml'] at ['refs/heads/release'], "
        "but it extends pipelines/cd-python.yml of aks-estate/pipeline-templates at refs/heads/main",
    ),
    "production branch control that leaves out the templates release": (
        lambda prod: change("checkBranchControl:CheckBranchControl", lambda r: True, allowedBranches="refs/heads/main"),
        "pipeline 'orders-cd' runs repository 'pipeline-templates' at refs/heads/release, which the branch control "
        "of environment 'production' refuses",
    ),
    "templates release without a branch policy": (
        lambda prod: (
            lambda rs: [
                r
                for r in rs
                if not (
                    r.type.startswith(f"{DEVOPS}branchPolicy")
                    and r.inputs["settings"]["scopes"][0]["repositoryRef"] == "refs/heads/release"
                )
            ]
        ),
        "pipeline 'orders-cd' runs repository 'pipeline-templates' at refs/heads/release, which no branch policy "
        "protects: the branch control of environment 'production' verifies protection and fails",
    ),
    "required-template check naming another ref": (
        lambda prod: change(
            "checkRequiredTemplate:CheckRequiredTemplate",
            lambda r: r.inputs["targetResourceType"] == "endpoint",
            requiredTemplates=[
                {
                    "repositoryType": "azuregit",
                    "repositoryName": "aks-estate/pipeline-templates",
                    "repositoryRef": "refs/heads/main",
                    "templatePath": "pipelines/ci-python.yml",
                }
            ],
        ),
        "whose required-template check admits only ['pipelines/ci-python.yml'] at ['refs/heads/main']",
    ),
    "service connection renamed": (
        lambda prod: change(
            "serviceEndpointAzureRM:ServiceEndpointAzureRM", lambda r: True, serviceEndpointName="renamed"
        ),
        "inputs.azureSubscription: service connection 'contoso-prod-azure' does not exist",
    ),
    "template missing": (
        lambda prod: drop("gitRepositoryFile:GitRepositoryFile", lambda r: r.inputs["file"].endswith("kubelogin.yml")),
        "template 'pipelines/steps/kubelogin.yml' is not in repository 'pipeline-templates'",
    ),
    "pipeline resource without its definition": (
        lambda prod: change(
            "buildDefinition:BuildDefinition", lambda r: r.inputs["name"].endswith("-ci"), name="renamed-ci"
        ),
        "resources.pipelines[0].source: pipeline resource",
    ),
    "variable group that does not exist": (
        lambda prod: edit_file("pipelines/ci-python.yml", lambda d: d["jobs"][0].update(variables=[{"group": "gone"}])),
        "jobs[0].variables[0].group: variable group 'gone' does not exist",
    ),
    "task the check does not know": (
        lambda prod: edit_file("pipelines/ci-python.yml", _unknown_task),
        "task 'HelmDeploy@0' is unknown to the link check",
    ),
}


@pytest.mark.parametrize("mistake", sorted(PLANTED))
def test_a_planted_broken_link_is_reported(mistake: str, prod: Capture, builtin: frozenset[str]) -> None:
    mutation, expected = PLANTED[mistake]
    broken = Capture(stack=prod.stack, resources=mutation(prod)(list(prod.resources)), outputs=prod.outputs)
    found = messages(pipeline_links.check(broken, builtin))
    assert any(expected in message for message in found), found
