"""Secrets a stack file holds in plain text, found per entry.

Pulumi marks a whole object key secret when any part of it is `secure` (pulumi/pulumi
sdk/go/common/resource/config/value.go, `Value.Secure`), so the secret-key list the language host gives the program
cannot tell one plaintext entry among secure ones: these rules read the file itself. Each returns refusal lines that
name the key and never show the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PAT_KEY = "azuredevops:personalAccessToken"
_PAT_RULE = (
    f"{PAT_KEY} = [not shown]: must not sit in the stack file in plain text: set it with `pulumi config set --secret "
    f"{PAT_KEY}`, or leave it out and export AZDO_PERSONAL_ACCESS_TOKEN"
)


def plaintext_secrets(document: Mapping[str, Any], namespace: str) -> list[str]:
    """The plaintext secrets of a stack file's `config:` mapping (as YAML reads it)."""
    lines: list[str] = []
    token = document.get(PAT_KEY)
    if token is not None and not _is_secure(token):
        lines.append(_PAT_RULE)
    ci_secrets = document.get(f"{namespace}:ciSecrets")
    if _is_secure(ci_secrets):
        return lines
    entries = ci_secrets.items() if isinstance(ci_secrets, dict) else [("", ci_secrets)] if ci_secrets else []
    lines.extend(
        f"{namespace}:ciSecrets{'.' + str(name) if name else ''} = [not shown]: must be set with `pulumi config set "
        f"--secret --path '{namespace}:ciSecrets.<name>' <value>`: a plaintext value would sit in the stack file"
        for name, value in entries
        if not _is_secure(value)
    )
    return lines


def plaintext_in_file(path: Path, namespace: str) -> list[str]:
    """The same, for a stack file on disk; none when there is no such file (the CLI has already parsed it)."""
    if not path.is_file():
        return []
    document = yaml.safe_load(path.read_text())
    return plaintext_secrets(document.get("config") or {}, namespace) if isinstance(document, dict) else []


def plaintext_token(every_key: Mapping[str, Any], every_secret_key: frozenset[str]) -> list[str]:
    """The Azure DevOps token as the language host hands it over: a key it does not list as secret was plain text."""
    return [_PAT_RULE] if every_key.get(PAT_KEY) and PAT_KEY not in every_secret_key else []


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}
