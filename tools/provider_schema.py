"""Check every input of every custom resource against the provider's own input types, read from the installed SDKs.

Nothing here is hand-written per resource. For a type token the SDK package that registered it (its
`pulumi-plugin.json` names the package) says which Python class implements it: every generated SDK calls
`_utilities.register(resource_modules=..., resource_packages=...)` on import, which lands in
`pulumi.runtime.rpc.register_resource_module` / `register_resource_package` (pulumi/runtime/rpc.py) with the module's
`fqn` and a token -> class-name table. The class's `__init__(resource_name, args: ...)` overload names its
`@pulumi.input_type` arguments class; each property getter carries its wire name (`@pulumi.getter(name="camelName")`
sets `_pulumi_name`, pulumi/_types.py `getter`) and its type annotation: `pulumi.Input[T]` (= Union[T, Awaitable[T],
Output[T]]), nested `*Args` input types, `Sequence`/`Mapping`, a bare `Enum` subclass for a closed enum,
`Union[str, Enum]` for an open one, `Literal` for kubernetes' apiVersion/kind.

A property is required when its annotation does not admit None (pulumi/_types.py `_required_property_names` reads it
the same way). Required properties the SDK defaults (`ComponentArgs.application_type` = 'web' in
`Component._internal_init`) are filled in before the wire, so the wire inputs checked here always carry them.

Inputs are checked as the engine sends them (camelCase wire names, numbers as doubles). Secrets are checked inside
their wrapper; an unknown (`rpc.UNKNOWN`, preview only) stands for an output of any type.
"""

from __future__ import annotations

import collections.abc
import difflib
import enum
import functools
import importlib
import importlib.resources
import inspect
import json
import pkgutil
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import rpc

from policy.inventory import Registered

_PULUMI_NAME = "_pulumi_name"  # set by pulumi.getter on each property's fget (pulumi/_types.py)
_SCALARS: tuple[type, ...] = (str, int, float, bool)


@dataclass(frozen=True)
class Finding:
    urn: str
    path: str
    problem: str
    expected: str

    def __str__(self) -> str:
        return f"{self.urn}: {self.path}: {self.problem}; the provider expects {self.expected}"


@dataclass(frozen=True)
class Property:
    wire_name: str
    python_name: str
    hint: Any
    required: bool


@functools.cache
def _sdk_packages() -> dict[str, str]:
    """Pulumi package name (`azure-native`) -> Python package (`pulumi_azure_native`), from each pulumi-plugin.json."""
    found: dict[str, str] = {}
    for module in pkgutil.iter_modules():
        if not module.name.startswith("pulumi_") or not module.ispkg:
            continue
        plugin = importlib.resources.files(module.name) / "pulumi-plugin.json"
        if plugin.is_file():
            name = json.loads(plugin.read_text()).get("name")
            if name:  # resource plugins name their package; other plugins (e.g. analyzers) need not
                found[name] = module.name
    return found


@functools.cache
def resource_class(token: str) -> type | None:
    """The SDK class that registers `token`, as the engine would rehydrate it (rpc.get_resource_module/package)."""
    if token.startswith("pulumi:providers:"):
        package = token.removeprefix("pulumi:providers:")
        if package not in _sdk_packages():
            return None
        importlib.import_module(_sdk_packages()[package])
        info = getattr(rpc.get_resource_package(package, ""), "pkg_info", None)
        if not info or info.get("token") != token:
            return None
        return typing.cast(type, getattr(importlib.import_module(info["fqn"]), info["class"]))
    package, _, rest = token.partition(":")
    module, _, _name = rest.rpartition(":")
    if package not in _sdk_packages():
        return None
    importlib.import_module(_sdk_packages()[package])
    info = getattr(rpc.get_resource_module(package, module, ""), "mod_info", None)
    if not info or token not in info["classes"]:
        return None
    return typing.cast(type, getattr(importlib.import_module(info["fqn"]), info["classes"][token]))


@functools.cache
def args_class(token: str) -> type | None:
    """The resource's `@pulumi.input_type` arguments class, as its `__init__(resource_name, args: ...)` overload names
    it (usually `<Name>Args`; `kubernetes:core/v1:Secret` takes `SecretInitArgs`)."""
    cls = resource_class(token)
    if cls is None:
        return None
    namespace = vars(sys.modules[cls.__module__])
    for overload in typing.get_overloads(cls.__init__):  # type: ignore[misc]
        # `Optional[...]` when every argument is optional (ResourceGroupArgs).
        for candidate in _members(typing.get_type_hints(overload, globalns=dict(namespace)).get("args")):
            if _is_input_type(candidate):
                return typing.cast(type, candidate)
    return None


def _is_input_type(cls: Any) -> bool:
    return isinstance(cls, type) and hasattr(cls, "_pulumi_input_type")


@functools.cache
def properties(cls: type) -> dict[str, Property]:
    """Wire name -> property of an input type, with the getter's resolved annotation."""
    # Forward references ('ManagedClusterAADProfileArgs', '_meta.v1.ObjectMetaArgs') resolve in the class's module;
    # `T` and `Output` appear inside pulumi.Input's own alias (pulumi/_types.py `_raw_return_hints` does the same).
    namespace = dict(vars(sys.modules[cls.__module__]))
    found: dict[str, Property] = {}
    for python_name, member in vars(cls).items():
        if not isinstance(member, property) or member.fget is None:
            continue
        wire_name = getattr(member.fget, _PULUMI_NAME, None)
        if wire_name is None:
            continue
        hint = typing.get_type_hints(
            member.fget, globalns=namespace, localns={"T": type(None), "Output": pulumi.Output}
        )["return"]
        found[wire_name] = Property(wire_name, python_name, hint, required=type(None) not in _members(hint, True))
    return found


@functools.cache
def constants(cls: type) -> dict[str, Any]:
    """Wire name -> the value an input type's `__init__` sets whatever it is given: the discriminator of a union
    member (`CspmMonitorAzureDevOpsOfferingArgs.__init__` does
    `pulumi.set(__self__, "offering_type", 'CspmMonitorAzureDevOps')` while annotating it as a plain `str`).
    Found by building one with a sentinel for every argument."""
    sentinel = object()
    parameters = [p for p in inspect.signature(cls).parameters.values() if p.kind is p.KEYWORD_ONLY]
    built = cls(**{p.name: sentinel for p in parameters})
    return {
        prop.wire_name: stored
        for prop in properties(cls).values()
        if (stored := pulumi.get(built, prop.python_name)) is not sentinel and stored is not None
    }


def _members(hint: Any, keep_none: bool = False) -> tuple[Any, ...]:
    """The plain types a value may have: Input/Output/Awaitable wrappers and (unless asked) None removed."""
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return (hint,)
    kept: list[Any] = []
    for member in typing.get_args(hint):
        origin = typing.get_origin(member)
        if origin in (collections.abc.Awaitable, pulumi.Output) or member is pulumi.Output:
            continue
        if member is type(None) and not keep_none:
            continue
        for inner in _members(member, keep_none):
            if inner not in kept:
                kept.append(inner)
    return tuple(kept)


def describe(hint: Any) -> str:
    """The expected type in words, as a reviewer would look it up in the provider's docs."""
    members = _members(hint)
    if len(members) > 1:
        if str in members and all(m is str or _is_enum(m) for m in members):
            values = ", ".join(repr(v) for m in members if _is_enum(m) for v in _enum_values(m))
            return f"a string (open enum, e.g. {values})"
        return " or ".join(describe(m) for m in members)
    (only,) = members
    origin = typing.get_origin(only)
    if origin in (collections.abc.Sequence, list):
        return f"a list of {describe(typing.get_args(only)[0])}"
    if origin in (collections.abc.Mapping, dict):
        args = typing.get_args(only)
        return f"a map of {describe(args[1])}" if args else "a map"
    return _describe_plain(only)


def _describe_plain(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return " or ".join(repr(v) for v in typing.get_args(hint))
    if _is_enum(hint):
        return f"one of {', '.join(repr(v) for v in _enum_values(hint))} ({hint.__name__})"
    if _is_input_type(hint):
        return f"an object {hint.__name__}"
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(hint, repr(hint))


def _is_enum(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, enum.Enum)


def _enum_values(cls: type[enum.Enum]) -> list[Any]:
    return [member.value for member in cls]


class _Checker:
    def __init__(self, urn: str) -> None:
        self.urn = urn
        self.findings: list[Finding] = []

    def fail(self, path: str, problem: str, expected: str) -> None:
        self.findings.append(Finding(self.urn, path, problem, expected))

    def value(self, value: Any, hint: Any, path: str) -> None:
        value = rpc.unwrap_rpc_secret(value)
        if value == rpc.UNKNOWN:
            return
        members = _members(hint)
        if len(members) == 1:
            self.single(value, members[0], path)
            return
        # A union (open enum, IntOrString, a discriminated object): the value must fit one member.
        attempts: list[list[Finding]] = []
        for member in members:
            trial = _Checker(self.urn)
            trial.single(value, member, path)
            if not trial.findings:
                return
            attempts.append(trial.findings)
        if isinstance(value, dict):
            self.union_object(value, members, attempts, path)
        else:
            self.fail(path, f"{_show(value)} fits none of the allowed types", describe(hint))

    def union_object(
        self, value: dict[str, Any], members: tuple[Any, ...], attempts: list[list[Finding]], path: str
    ) -> None:
        """Explain an object that fits no member: by the member its discriminator names, else the closest one."""
        tagged = [(m, constants(m)) for m in members if _is_input_type(m) and constants(m)]
        named = [i for i, m in enumerate(members) if _is_input_type(m) and constants(m) and _has(value, constants(m))]
        if len(named) == 1:
            self.findings.extend(attempts[named[0]])
        elif tagged:
            keys = sorted({key for _, fixed in tagged for key in fixed})
            choices = ", ".join(sorted({repr(c[k]) for _, c in tagged for k in keys if k in c}))
            self.fail(path, f"{_show(value)} names no member of the union by {'/'.join(keys)}", f"one of {choices}")
        else:
            closest = min(range(len(attempts)), key=lambda i: (len(attempts[i]), i))
            self.findings.extend(attempts[closest])

    def single(self, value: Any, hint: Any, path: str) -> None:
        origin = typing.get_origin(hint)
        if value is None:
            self.fail(path, "null", describe(hint))
        elif hint is Any or hint is object:
            return
        elif origin is typing.Literal or _is_enum(hint) or hint in _SCALARS:
            self.plain(value, hint, path)
        elif _is_input_type(hint):
            if isinstance(value, dict):
                self.object(value, hint, path)
            else:
                self.fail(path, f"{_show(value)} is not an object", describe(hint))
        elif origin in (collections.abc.Sequence, list, collections.abc.Mapping, dict) or hint is dict:
            self.collection(value, hint, path)
        else:
            # A shape this checker does not know must be taught, never waved through.
            self.fail(path, f"the SDK declares a type this check cannot read: {hint!r}", repr(hint))

    def collection(self, value: Any, hint: Any, path: str) -> None:
        args = typing.get_args(hint)
        if typing.get_origin(hint) in (collections.abc.Sequence, list):
            if not isinstance(value, list):
                self.fail(path, f"{_show(value)} is not a list", describe(hint))
                return
            for index, item in enumerate(value):
                self.value(item, args[0], f"{path}[{index}]")
        elif not isinstance(value, dict):
            self.fail(path, f"{_show(value)} is not a map", describe(hint))
        elif args:
            for key, item in value.items():
                self.value(item, args[1], f"{path}.{key}")

    def plain(self, value: Any, hint: Any, path: str) -> None:
        if typing.get_origin(hint) is typing.Literal:
            if value not in typing.get_args(hint):
                self.fail(path, f"{_show(value)} is not the constant the SDK sets", describe(hint))
        elif _is_enum(hint):
            if value not in _enum_values(hint):
                self.fail(path, f"{_show(value)} is not a value of the closed enum {hint.__name__}", describe(hint))
        elif not _fits_scalar(value, hint):
            self.fail(path, f"{_show(value)} has the wrong type", describe(hint))

    def object(self, value: Mapping[str, Any], cls: type, path: str) -> None:
        known = properties(cls)
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in known:
                fixed = constants(cls)
                if item is None and not known[key].required:
                    pass  # an optional property's annotation admits None
                elif key in fixed and rpc.unwrap_rpc_secret(item) not in (fixed[key], rpc.UNKNOWN):
                    self.fail(
                        where, f"{_show(item)} is not the constant the SDK sets", f"{fixed[key]!r} ({cls.__name__})"
                    )
                else:
                    self.value(item, known[key].hint, where)
                continue
            by_python_name = {p.python_name: p.wire_name for p in known.values()}
            if key in by_python_name:
                self.fail(
                    where, f"{key!r} is the Python name", f"the wire name {by_python_name[key]!r} ({cls.__name__})"
                )
            else:
                near = difflib.get_close_matches(key, list(known), n=3)
                hint = f"did you mean {' or '.join(map(repr, near))}? " if near else ""
                self.fail(where, f"unknown property {key!r}", f"{hint}properties of {cls.__name__}: {sorted(known)}")
        for wire_name, prop in known.items():
            if prop.required and wire_name not in value:
                where = f"{path}.{wire_name}" if path else wire_name
                self.fail(where, "required property missing", f"{describe(prop.hint)} ({cls.__name__})")


def _has(value: Mapping[str, Any], fixed: Mapping[str, Any]) -> bool:
    return all(value.get(key) == constant for key, constant in fixed.items())


def _fits_scalar(value: Any, hint: type) -> bool:
    if isinstance(value, bool):
        return hint is bool
    if hint is int:
        # The wire carries every number as a double.
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, hint)


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def check_resource(urn: str, token: str, inputs: Mapping[str, Any]) -> list[Finding]:
    cls = args_class(token)
    if cls is None:
        return [Finding(urn, "", f"no installed SDK registers {token!r}", "a type token of an installed provider")]
    checker = _Checker(urn)
    checker.object(inputs, cls, "")
    return checker.findings


def check(resources: Iterable[Registered], inputs: typing.Callable[[Any], Mapping[str, Any]]) -> list[Finding]:
    """Findings for every custom resource; `inputs` picks what to check (the wire inputs, secrets still wrapped)."""
    return [
        finding
        for resource in resources
        if resource.custom
        for finding in check_resource(resource.urn, resource.type, inputs(resource))
    ]
