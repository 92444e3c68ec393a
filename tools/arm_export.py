"""The azure-native part of an inventory as an ARM deployment template, the shape Azure Resource Manager receives.

ARM-level checkers (checkov's `arm` framework) read resources as `{type, apiVersion, name, location, tags, sku,
identity, kind, zones, properties}`. The azure-native provider takes the same request bodies with `properties`
flattened into the top level and the URL's path parameters as inputs, so the export reverses that:
- the ARM type, name and (for extension resources) scope come from the resource ID the inventory records;
- the API version is the one the installed SDK's class was generated from ("Uses Azure REST API version ...");
- inputs that are path parameters (their value is a segment of the ID) are dropped, the envelope keys stay on top,
  everything else goes back under `properties` (a `properties` input, kept by some resources such as the vault, is
  merged in as is).
"""

from __future__ import annotations

import importlib
import inspect
import re
from functools import cache
from typing import Any

from tools.capture import Capture, Registration

ENVELOPE = ("location", "tags", "sku", "identity", "kind", "zones", "plan", "extendedLocation")
_API_VERSION = re.compile(r"Azure REST API version ([0-9]{4}-[0-9]{2}-[0-9]{2}(?:-preview)?)")


@cache
def api_version(token: str) -> str:
    """The REST API version the installed pulumi-azure-native generated this resource's class from."""
    _, module, resource = token.split(":")
    source = inspect.getsource(getattr(importlib.import_module(f"pulumi_azure_native.{module}"), resource))
    found = _API_VERSION.search(source)
    if found is None:
        raise LookupError(f"{token}: the SDK names no Azure REST API version")
    return found[1]


def arm_address(resource_id: str) -> tuple[str, str, str | None]:
    """(type, name, scope) of an ARM resource ID; scope is set for extension resources (another resource's ID)."""
    scope, _, path = resource_id.rpartition("/providers/")
    namespace, *segments = path.split("/")
    types, names = segments[0::2], segments[1::2]
    if not types or len(types) != len(names):
        raise ValueError(f"not a provider resource ID: {resource_id}")
    # An extension resource (role assignment, diagnostic setting, ...) sits on another resource's ID.
    return f"{namespace}/{'/'.join(types)}", "/".join(names), scope if "/providers/" in scope else None


def _resource(registration: Registration) -> dict[str, Any]:
    arm_type, name, scope = arm_address(registration.id)
    path_values = set(registration.id.split("/")) | ({scope} if scope else set())
    inputs = {
        key: value
        for key, value in registration.inputs.items()
        if not (isinstance(value, str) and value in path_values and key not in ENVELOPE)
    }
    given = inputs.pop("properties", None)
    properties = {
        # A `properties` input holding a secret (a vault secret's value) is redacted as a whole in the inventory.
        **(given if isinstance(given, dict) else {}),
        **{key: value for key, value in inputs.items() if key not in ENVELOPE},
    }
    return {
        "type": arm_type,
        "apiVersion": api_version(registration.type),
        "name": name,
        **({"scope": scope} if scope else {}),
        **{key: inputs[key] for key in ENVELOPE if key in inputs},
        "properties": properties,
    }


def export(capture: Capture) -> tuple[dict[str, Any], list[str]]:
    """The deployment template, and the URNs of azure-native resources it could not place (no ARM ID known)."""
    resources, unplaced = [], []
    for registration in capture.resources:
        if not registration.custom or not registration.type.startswith("azure-native:"):
            continue
        if "/providers/" not in registration.id:
            unplaced.append(registration.urn)
            continue
        resources.append(_resource(registration))
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": resources,
    }
    return template, unplaced
