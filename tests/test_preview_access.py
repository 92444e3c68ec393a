"""Every Azure DevOps project a stack's invokes read is readable by that stack's preview identity.

`pulumi preview` runs the program's invokes as the pipeline's identity (a pull request's preview: preview-<stack>), and
the provider reads a project with CoreClient.GetProject (terraform-provider-azuredevops azuredevops/internal/service/
core/data_project.go, dataProjectRead), which answers "not found" to an organisation member outside the project
(permissions reference: only Project Valid Users, who have "View project-level information", see it). So each project
an invoke reads must have the preview identity among its Readers: the IaC project by the bootstrap, the stack's own
project by the stack.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from bootstrap import names
from tests.helpers import stack_config
from tools.capture import Capture, Registration

PROJECT = "azuredevops:index/project:Project"
GET_PROJECT = "azuredevops:index/getProject:getProject"
GET_GROUP = "azuredevops:index/getGroup:getGroup"
MEMBERSHIP = "azuredevops:index/groupMembership:GroupMembership"
ENTITLEMENT = "azuredevops:index/servicePrincipalEntitlement:ServicePrincipalEntitlement"


def _project_names(*captures: Capture) -> dict[str, str]:
    return {str(p.id): str(p.inputs["name"]) for result in captures for p in result.of_type(PROJECT)}


def _projects_read(stack: Capture, project_names: dict[str, str]) -> dict[str, str]:
    """The project each azuredevops invoke of the stack reads, by project name -> the first invoke that reads it."""
    read: dict[str, str] = {}
    for invoke in stack.invokes:
        if not invoke.token.startswith("azuredevops:"):
            continue
        if invoke.token == GET_PROJECT:
            name = str(invoke.args["name"])
            read.setdefault(name, f"get_project(name={name})")
        elif "projectId" in invoke.args:
            project_id = str(invoke.args["projectId"])
            name = project_names.get(project_id, project_id)
            call = invoke.token.rsplit(":", 1)[-1]
            read.setdefault(name, f"{call}(project_id={name}, name={invoke.args.get('name')})")
    return read


def _readers(captures: Iterable[Capture], project_names: dict[str, str]) -> dict[str, set[str]]:
    """The descriptors each project's Readers group gets, as the inventories state it (GroupMembership)."""
    groups: dict[str, str] = {}
    memberships: list[Registration] = []
    for result in captures:
        for invoke in result.invokes:
            if invoke.token == GET_GROUP and invoke.args.get("name") == "Readers":
                project = project_names.get(str(invoke.args["projectId"]), str(invoke.args["projectId"]))
                groups[str(invoke.result["descriptor"])] = project
        memberships += result.of_type(MEMBERSHIP)
    members: dict[str, set[str]] = {}
    for membership in memberships:
        readers_of = groups.get(str(membership.inputs["group"]))
        if readers_of is not None:
            members.setdefault(readers_of, set()).update(membership.inputs["members"])
    return members


def unreadable(stack: Capture, boot: Capture) -> list[str]:
    """What the stack's preview identity would be refused: one line for each project it reads but is no Reader of."""
    project_names = _project_names(stack, boot)
    preview = names.identity("preview", stack.stack)
    boot_descriptor = {
        r.name.rsplit("-organisation-", 1)[-1]: str(r.outputs["descriptor"]) for r in boot.of_type(ENTITLEMENT)
    }[preview]
    # The stack's own project is made readable with the descriptor the stack is configured with; the IaC project's
    # with the bootstrap's entitlement. Both are the same identity once the operator copies the bootstrap's output.
    own = {str(p.inputs["name"]) for p in stack.of_type(PROJECT)}
    configured = stack_config(stack.stack)["iacPreviewIdentity"]
    readers = _readers((stack, boot), project_names)
    missing = []
    for project, call in sorted(_projects_read(stack, project_names).items()):
        identity = configured if project in own else boot_descriptor
        if identity not in readers.get(project, set()):
            missing.append(f"{stack.stack}: {call} reads project {project}, whose Readers lack {preview}")
    return missing


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_the_preview_identity_reads_every_project_the_stack_reads(
    stack_name: str, dev: Capture, prod: Capture, boot: Capture
) -> None:
    stack = {"dev": dev, "prod": prod}[stack_name]
    read = _projects_read(stack, _project_names(stack, boot))
    # The stack's own project always; prod's pool also serves the IaC project (components/devops/agent_queue.py).
    expected = {"dev": {"aks-estate-dev"}, "prod": {"aks-estate", "aks-estate-iac"}}[stack_name]
    assert set(read) == expected
    assert unreadable(stack, boot) == []


def test_bootstrap_prints_each_preview_identitys_descriptor(boot: Capture) -> None:
    entitlements = {r.name.rsplit("-organisation-", 1)[-1]: r for r in boot.of_type(ENTITLEMENT)}
    assert boot.outputs["previewIdentityDescriptors"] == {
        stack: entitlements[names.identity("preview", stack)].outputs["descriptor"] for stack in ("dev", "prod")
    }


def test_a_preview_identity_missing_from_the_iac_readers_is_reported(prod: Capture, boot: Capture) -> None:
    descriptor = next(
        r.outputs["descriptor"] for r in boot.of_type(ENTITLEMENT) if r.name.endswith("-organisation-preview-prod")
    )
    planted = Capture(
        stack=boot.stack,
        resources=[r for r in boot.resources if not (r.type == MEMBERSHIP and r.inputs["members"] == [descriptor])],
        outputs=boot.outputs,
        invokes=boot.invokes,
    )
    found = unreadable(prod, planted)
    assert found == [
        "prod: get_project(name=aks-estate-iac) reads project aks-estate-iac, whose Readers lack preview-prod"
    ]


def test_a_stack_that_does_not_make_its_preview_identity_a_reader_is_reported(dev: Capture, boot: Capture) -> None:
    planted = Capture(
        stack=dev.stack,
        resources=[r for r in dev.resources if r.type != MEMBERSHIP],
        outputs=dev.outputs,
        invokes=dev.invokes,
    )
    found = unreadable(planted, boot)
    assert found
    assert all("reads project aks-estate-dev, whose Readers lack preview-dev" in line for line in found)


def _iac_reader_descriptors(boot: Capture) -> set[str]:
    return {
        member for r in boot.of_type(MEMBERSHIP) if r.name.endswith("-iac-readers") for member in r.inputs["members"]
    }


def _descriptor(boot: Capture, identity: str) -> str:
    return str(next(r.outputs["descriptor"] for r in boot.of_type(ENTITLEMENT) if r.name.endswith(f"-{identity}")))


def test_only_the_preview_identity_whose_stack_reads_the_iac_project_is_among_its_readers(
    dev: Capture, prod: Capture, boot: Capture
) -> None:
    # preview-dev runs every pull request's code unapproved; dev's program reads no IaC project (test above), so
    # membership there would be a right nothing uses.
    readers = _iac_reader_descriptors(boot)
    assert _descriptor(boot, names.identity("preview", "prod")) in readers
    assert _descriptor(boot, names.identity("preview", "dev")) not in readers
    assert "aks-estate-iac" not in _projects_read(dev, _project_names(dev, boot))
