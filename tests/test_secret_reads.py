"""CI downloads each Key Vault secret it names as an identity that may read exactly it (tools/secret_reads.py)."""

from __future__ import annotations

import dataclasses

import pytest

from components.identity import BUILT_IN_ROLES
from tests.helpers import ROLE_ASSIGNMENT
from tools import secret_reads
from tools.capture import Capture, Registration

SECRET = "azure-native:keyvault:Secret"
FILE = "azuredevops:index/gitRepositoryFile:GitRepositoryFile"


def _steps_downloading(estate: Capture) -> int:
    return sum("AzureKeyVault@2" in str(r.inputs.get("content", "")) for r in estate.of_type(FILE))


def test_every_downloaded_secret_is_written_and_readable_by_its_step(estate: Capture) -> None:
    assert _steps_downloading(estate) > 0, "the check must have a download to judge"
    assert secret_reads.unreadable_secrets(estate) == []


def test_a_secret_whose_grant_is_gone_is_reported(estate: Capture) -> None:
    secret_ids = {r.id for r in estate.of_type(SECRET)}
    kept = [r for r in estate.resources if not (r.type == ROLE_ASSIGNMENT and r.inputs["scope"] in secret_ids)]
    found = [str(f) for f in secret_reads.unreadable_secrets(dataclasses.replace(estate, resources=kept))]
    assert found
    assert all("whose identity cannot read it" in f for f in found), found


@pytest.mark.parametrize(
    ("role", "reads"),
    [
        # Key Vault Certificates Officer manages certificates but lacks getSecret; Certificate User reads a
        # certificate's secret portion, so any secret (built-in roles, security).
        ("a4417e6f-fecd-4de8-b567-7b0420556985", False),
        (BUILT_IN_ROLES["Key Vault Certificate User"], True),
    ],
)
def test_a_grant_of_another_role_on_the_secret_is_judged_by_its_data_actions(
    estate: Capture, role: str, reads: bool
) -> None:
    secret_ids = {r.id for r in estate.of_type(SECRET)}

    def regrant(r: Registration) -> Registration:
        if r.type != ROLE_ASSIGNMENT or r.inputs["scope"] not in secret_ids:
            return r
        definition = f"/providers/Microsoft.Authorization/roleDefinitions/{role}"
        return dataclasses.replace(r, inputs={**r.inputs, "roleDefinitionId": definition})

    found = secret_reads.unreadable_secrets(
        dataclasses.replace(estate, resources=[regrant(r) for r in estate.resources])
    )
    assert (found == []) is reads, found


def test_a_secret_the_stack_does_not_write_is_reported(estate: Capture) -> None:
    def rename(r: Registration) -> Registration:
        content = str(r.inputs.get("content", ""))
        if r.type != FILE or "SecretsFilter" not in content:
            return r
        text = content.replace("SecretsFilter: appinsights-connection-string", "SecretsFilter: db-password")
        return dataclasses.replace(r, inputs={**r.inputs, "content": text})

    found = [
        str(f)
        for f in secret_reads.unreadable_secrets(
            dataclasses.replace(estate, resources=[rename(r) for r in estate.resources])
        )
    ]
    assert any("'db-password'" in f and "does not write there" in f for f in found), found
