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
WEBHOOK_PATH = "alerts.webhookUrl"
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
    alerts = document.get(f"{namespace}:alerts")
    if isinstance(alerts, dict) and alerts.get("webhookUrl") is not None and not _is_secure(alerts["webhookUrl"]):
        lines.append(webhook_rule(namespace))
    ci_secrets = document.get(f"{namespace}:ciSecrets")
    if _is_secure(ci_secrets):
        return lines
    entries = ci_secrets.items() if isinstance(ci_secrets, dict) else [("", ci_secrets)] if ci_secrets else []
    lines.extend(_ci_secret_rule(namespace, str(name)) for name, value in entries if not _is_secure(value))
    return lines


def unmarked_secrets(values: Mapping[str, Any], secret_keys: frozenset[str], namespace: str) -> list[str]:
    """Secrets among the decoded config whose key the language host does not list as secret: they were plain text."""
    lines = []
    if values.get("ciSecrets") not in (None, "", {}) and "ciSecrets" not in secret_keys:
        lines.append(_ci_secret_rule(namespace, ""))
    alerts = values.get("alerts")
    if isinstance(alerts, dict) and alerts.get("webhookUrl") is not None and "alerts" not in secret_keys:
        lines.append(webhook_rule(namespace))
    return lines


def _ci_secret_rule(namespace: str, name: str) -> str:
    return (
        f"{namespace}:ciSecrets{'.' + name if name else ''} = [not shown]: must be set with `pulumi config set "
        f"--secret --path '{namespace}:ciSecrets.<name>' <value>`: a plaintext value would sit in the stack file"
    )


def webhook_rule(namespace: str) -> str:
    # An incoming webhook's URL is its credential: whoever has it posts to the channel (Slack's and Teams' alike).
    return (
        f"{namespace}:{WEBHOOK_PATH} = [not shown]: must be set with `pulumi config set --secret --path "
        f"'{namespace}:{WEBHOOK_PATH}' <url>`: the URL is the webhook's credential, and a plaintext value would sit in "
        "the stack file"
    )


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
