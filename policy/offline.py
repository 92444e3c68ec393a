"""Run the pack's policies on captured registrations without the Pulumi CLI, as pulumi-policy's analyzer would.

The analyzer server (`pulumi_policy.policy._PolicyAnalyzerServicer`) builds `ResourceValidationArgs` from a resource's
inputs and `StackValidationArgs` from every resource's outputs, wraps properties in `unknown_checking_proxy` and turns
an `UnknownValueError` into an advisory "can't run during preview" diagnostic. This module does the same with the
registrations `tools/capture.py` records, so the tests exercise the rules on the values, and the value shapes, the
engine would hand them. Only the tests import it; the CLI never loads it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policy.inventory import Registered


class RegistrationLike(Registered, Protocol):
    """The fields of `tools.capture.Registration` the analyzer needs."""

    @property
    def parent(self) -> str | None: ...
    @property
    def protect(self) -> bool: ...
    @property
    def dependencies(self) -> tuple[str, ...]: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def outputs(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    urn: str | None
    # True where the rule read a value only known after the update: the engine reports that as advisory.
    unknown: bool = False


# How tools/capture.py records a value unknown at preview; the analyzer receives the engine's unknown sentinel instead
# (pulumi_policy/proxy.py UNKNOWN_STRING_VALUE, the same string as pulumi.runtime.rpc.UNKNOWN).
UNKNOWN_MARK = "[unknown]"


def wire(value: Any) -> Any:
    """`value` as it survives the engine's protobuf Struct: every number becomes a float, an unknown the sentinel."""
    if isinstance(value, bool):
        return value
    if value == UNKNOWN_MARK:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, int):
        return float(value)
    if isinstance(value, Mapping):
        return {key: wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [wire(item) for item in value]
    return value


def _options(registration: RegistrationLike) -> Any:
    return PolicyResourceOptions(
        registration.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], registration.parent
    )


def resource_args(registration: RegistrationLike) -> Any:
    """What `Analyze` passes a resource policy: the resource's inputs."""
    return ResourceValidationArgs(
        registration.type,
        unknown_checking_proxy(wire(registration.inputs)),
        registration.urn,
        registration.name,
        _options(registration),
        None,
    )


def stack_args(registrations: Sequence[RegistrationLike]) -> Any:
    """What `AnalyzeStack` passes a stack policy: every resource with its outputs, parent and dependencies linked.

    The engine sends outputs; the mock provider's outputs are the inputs plus computed values, and an input a test
    deliberately broke (outputs are not recomputed for a copied registration) must win, hence inputs over outputs.
    """
    resources = {
        registration.urn: PolicyResource(
            registration.type,
            unknown_checking_proxy(wire({**registration.outputs, **registration.inputs})),
            registration.urn,
            registration.name,
            _options(registration),
            None,
            None,
            [],
            {},
        )
        for registration in registrations
    }
    for registration in registrations:
        resource = resources[registration.urn]
        resource.parent = resources.get(registration.parent or "")
        resource.dependencies.extend(resources[urn] for urn in registration.dependencies if urn in resources)
    return StackValidationArgs(list(resources.values()))


def _run(policy: Any, args: Any, default_urn: str | None) -> list[Violation]:
    found: list[Violation] = []

    def report_violation(message: str, urn: str | None = None) -> None:
        found.append(Violation(policy.name, message, urn or default_urn))

    try:
        result = policy.validate(args, report_violation)
        if inspect.isawaitable(result):
            asyncio.run(_awaited(result))
    except UnknownValueError as error:
        found.append(Violation(policy.name, error.message, default_urn, unknown=True))
    return found


async def _awaited(result: Any) -> None:
    await result


def evaluate(policies: Iterable[Any], registrations: Sequence[RegistrationLike]) -> list[Violation]:
    """Every violation `policies` report on `registrations`: resource policies once per resource, stack ones once."""
    policies = list(policies)
    other = [policy for policy in policies if not isinstance(policy, (ResourceValidationPolicy, StackValidationPolicy))]
    if other:
        raise TypeError(f"neither resource nor stack validation policies: {other}")
    violations: list[Violation] = []
    resource_policies = [policy for policy in policies if isinstance(policy, ResourceValidationPolicy)]
    for registration in registrations if resource_policies else ():
        # Built once per resource: the rules only read their arguments.
        args = resource_args(registration)
        for policy in resource_policies:
            violations.extend(_run(policy, args, registration.urn))
    stack_policies = [policy for policy in policies if isinstance(policy, StackValidationPolicy)]
    if stack_policies:
        args = stack_args(registrations)
        for policy in stack_policies:
            violations.extend(_run(policy, args, None))
    return violations
