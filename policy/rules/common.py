"""What every rule module shares: reading engine-shaped properties, telling dev from prod, building policies.

The engine hands a policy read-only `Mapping`/`Sequence` proxies (not dicts and lists) whose numbers arrive as floats,
and raises `UnknownValueError` when a rule reads a value that is only known after the update. The helpers here accept
exactly that shape; a rule that reads an unknown value is reported by pulumi-policy as "can't run during preview" and
evaluated for real by `pulumi up`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyComplianceFramework,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from . import sources

Props = Mapping[str, Any]
ResourceCheck = Callable[[Props], Iterable[str]]
# A stack check yields (message, URN of the offending resource or None for the stack as a whole).
StackCheck = Callable[[Sequence[Any]], Iterable[tuple[str, str | None]]]

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
ENVIRONMENT_TAG = "environment"
ENVIRONMENTS = ("dev", "prod")


def lookup(props: Any, path: str) -> Any:
    """The value at a dotted `path`, or None where a step is missing or not an object."""
    value = props
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def entry(mapping: Any, key: str) -> Any:
    """`mapping[key]` with the key matched case-insensitively: ARM treats add-on names that way (omsagent/omsAgent)."""
    if not isinstance(mapping, Mapping):
        return None
    for candidate in mapping:
        if str(candidate).lower() == key.lower():
            return mapping.get(candidate)
    return None


def items(value: Any) -> list[Any]:
    """The elements of a list property; nothing for a missing value (a string is not a list of characters)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def enabled(value: Any) -> bool:
    """A boolean setting that is on: `True` itself, not a truthy string or number."""
    return value is True


def must_be_true(props: Props, *paths: str, note: str = "") -> Iterator[str]:
    """ "<path> must be true<note>" for each dotted path whose value is not `True` itself."""
    for path in paths:
        if not enabled(lookup(props, path)):
            yield f"{path} must be true{note}"


def is_set(props: Props, key: str) -> bool:
    """Whether `key` holds a non-empty value; a value the engine only learns at `pulumi up` counts as set."""
    try:
        value = props.get(key)
    except UnknownValueError:
        return True
    return value is not None and value != ""


def environment(props: Props) -> str | None:
    """The estate's `environment` tag (components/estate.py tags every Azure resource with it)."""
    value = lookup(props, f"tags.{ENVIRONMENT_TAG}")
    return value if isinstance(value, str) else None


def is_prod(props: Props) -> bool:
    return environment(props) == "prod"


def stack_environment(resources: Sequence[Any]) -> tuple[str | None, str | None]:
    """(environment, problem) of a whole stack, read from its resource groups' tags.

    Azure DevOps resources carry no tags, so rules about them learn dev from prod here. The tag, not the stack name,
    is what the config model's prod rules key off (`aks-estate:environment`), and it is there under the CLI and in the
    offline tests alike.
    """
    found = {environment(resource.props) for resource in resources if resource.resource_type == RESOURCE_GROUP}
    if len(found) == 1:
        (value,) = found
        if value in ENVIRONMENTS:
            return value, None
    tags = sorted(map(str, found))
    return None, f"cannot tell dev from prod: the stack's resource groups carry environment tags {tags}"


def prod_only(check: ResourceCheck) -> ResourceCheck:
    """`check` on resources tagged environment=prod; a dev stack deliberately runs cheaper settings."""

    def checked(props: Props) -> Iterable[str]:
        return check(props) if is_prod(props) else ()

    return checked


@dataclass(frozen=True)
class About:
    """What the Pulumi CLI shows beside a rule: where it comes from, how bad a violation is, and how to fix one."""

    framework: PolicyComplianceFramework | None = None
    severity: Severity | None = None
    remediation: str | None = None

    def metadata(self) -> dict[str, Any]:
        """The keyword arguments pulumi-policy's `ResourceValidationPolicy`/`StackValidationPolicy` take for it."""
        return {
            "framework": self.framework,
            "severity": self.severity,
            "remediation_steps": self.remediation,
            "url": sources.url(self.framework) if self.framework else None,
        }


# A rule without these fails tests/test_policy_metadata.py, which names the rule and what it lacks.
REQUIRED_METADATA = {
    "framework": "its source: framework=sources.checkov(...) or sources.architecture(...)",
    "severity": "severity=Severity.<LEVEL> (policy/README.md says which)",
    "remediation_steps": "remediation: what to change, and where in this repository",
}


def missing_metadata(policy: Any) -> list[str]:
    """What of `REQUIRED_METADATA` `policy` lacks, in words; empty when it has it all."""
    missing = [words for key, words in REQUIRED_METADATA.items() if not getattr(policy, key, None)]
    framework = getattr(policy, "framework", None)
    if framework and not (framework.reference and framework.specification):
        missing.append("a framework with a reference (checkov ID or document URL) and a specification")
    return missing


def metadata(policy: Any) -> dict[str, Any]:
    """Every keyword a rebuilt copy of `policy` must carry over (pulumi_policy.Policy.__init__'s arguments)."""
    keys = ("enforcement_level", "config_schema", "display_name", "severity", "framework", "tags")
    return {
        **{key: getattr(policy, key) for key in keys},
        "remediation_steps": policy.remediation_steps,
        "url": policy.url,
    }


def typed_resource_rule(
    name: str,
    description: str,
    applies_to: Callable[[str], bool],
    check: Callable[[str, Props], Iterable[str]],
    about: About | None = None,
) -> Any:
    """A `ResourceValidationPolicy` running `check(type token, props)` on every resource whose token `applies_to`."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not applies_to(args.resource_type):
            return
        for message in check(args.resource_type, args.props):
            report_violation(f"{args.name}: {message}", None)

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, **(about or About()).metadata()
    )


def resource_rule(
    name: str,
    description: str,
    resource_types: str | Collection[str],
    check: ResourceCheck,
    about: About | None = None,
) -> Any:
    """A `ResourceValidationPolicy` running `check` on resources of `resource_types`."""
    types = frozenset([resource_types] if isinstance(resource_types, str) else resource_types)
    return typed_resource_rule(name, description, types.__contains__, lambda _token, props: check(props), about)


def stack_rule(name: str, description: str, check: StackCheck, about: About | None = None) -> Any:
    """A `StackValidationPolicy`, for rules that relate several resources (a check and its environment)."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message, urn in check(args.resources):
            report_violation(message, urn)

    return StackValidationPolicy(name=name, description=description, validate=validate, **(about or About()).metadata())


@dataclass(frozen=True)
class Exemption:
    """A resource a rule deliberately does not hold to, written beside the rule with its reason (cdk-nag style).

    `applies_to` reads what the engine hands a policy about one resource (`ResourceValidationArgs` or a stack
    policy's `PolicyResource`: both have `resource_type`, `urn` and `props`): a tag or a property the program sets on
    purpose, never the resource's logical name.
    """

    policy: str
    exempt: str
    reason: str
    applies_to: Callable[[Any], bool]


def exempting(policy: Any, exemptions: Iterable[Exemption]) -> Any:
    """`policy` as it was, except that it passes over the resources its exemptions apply to."""
    mine = [exemption for exemption in exemptions if exemption.policy == policy.name]
    if not mine:
        return policy

    def exempt(resource: Any) -> bool:
        return any(exemption.applies_to(resource) for exemption in mine)

    if isinstance(policy, StackValidationPolicy):

        def validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> Any:
            # The stack rules read only `resources`; the rest of the arguments pass through unchanged.
            kept = copy.copy(args)
            kept.resources = [resource for resource in args.resources if not exempt(resource)]
            return policy.validate(kept, report_violation)

        return StackValidationPolicy(policy.name, policy.description, validate_stack, **metadata(policy))

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> Any:
        return None if exempt(args) else policy.validate(args, report_violation)

    return ResourceValidationPolicy(policy.name, policy.description, validate, **metadata(policy))


def depends_on(resource: Any, target: Any) -> bool:
    """Whether `resource` was wired to `target`'s outputs (or waits on it).

    Policies see no resource IDs, and an ID is unknown during the first preview anyway; the dependency the SDK records
    when an output flows into an input (targetResourceId = environment.id) is known in both.
    """
    return any(dependency.urn == target.urn for dependency in resource.dependencies)
