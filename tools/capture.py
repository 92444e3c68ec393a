"""Run `__main__.py` under Pulumi's mock engine and capture every registration, as the engine would receive it."""

from __future__ import annotations

import json
import os
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_root_resource, set_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components import config_messages, stack_file
from components.config import ConfigError
from tools.mocks import EstateMocks

ROOT = Path(__file__).resolve().parent.parent
PROJECT = config_messages.NAMESPACE
SECRET = config_messages.SECRET_PLACEHOLDER
# How resources.json shows a value `pulumi preview` does not know yet (a computed output of a resource to be created).
UNKNOWN = "[unknown]"  # policy/offline.py UNKNOWN_MARK reads it back as the engine's unknown
# The value a `secure:` config entry gets offline: nothing here can decrypt the stack's secrets provider.
SECRET_CONFIG_PLACEHOLDER = "offline-placeholder-secret"
# Secure entries the config validates as https URLs get one, so the offline run accepts what the real run (decrypted)
# accepts; `.invalid` never resolves (RFC 2606).
URL_SECRET_PLACEHOLDER = "https://offline-placeholder.invalid/secret"
URL_SECRETS = frozenset({f"{PROJECT}:{stack_file.WEBHOOK_PATH}"})


@dataclass(frozen=True)
class Alias:
    """One entry of a resource's `aliases` option as the engine receives it (RegisterResourceRequest.aliases): a whole
    old URN, or a spec whose empty fields mean "as the resource is now"."""

    urn: str = ""
    name: str = ""
    type: str = ""
    stack: str = ""
    project: str = ""
    parent: str = ""
    no_parent: bool = False


@dataclass(frozen=True)
class Registration:
    urn: str
    id: str
    type: str
    name: str
    parent: str | None
    custom: bool
    protect: bool
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]
    # What the (mock) provider returned; tests follow wiring through it, the inventory does not include it.
    outputs: dict[str, Any] = field(default_factory=dict, compare=False)
    # The inputs as deserialized, secrets still wrapped: the provider schema check looks inside them.
    wire_inputs: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # Lifecycle options the engine acts on, as RegisterResourceRequest carries them (pulumi/runtime/resource.py,
    # `register_resource`: retainOnDelete, deleteBeforeReplace, ignoreChanges).
    retain_on_delete: bool = field(default=False, compare=False)
    delete_before_replace: bool = field(default=False, compare=False)
    ignore_changes: tuple[str, ...] = field(default=(), compare=False)
    # A value whose change replaces the resource (the `replacement_trigger` option), None when unset.
    replacement_trigger: Any = field(default=None, compare=False)
    # The URNs whose replacement replaces this resource too (the `replace_with` option).
    replace_with: tuple[str, ...] = field(default=(), compare=False)
    # The ID of an existing object the engine adopts instead of creating one (the `import_` option).
    import_id: str = field(default="", compare=False)
    # Outputs the engine stores as secrets whatever the provider returns (the `additional_secret_outputs` option): the
    # engine carries an input's secrecy to the output of the same name only for a top-level input
    # (pulumi/pulumi pkg/resource/deploy/step_executor.go), so a secret nested in a list needs it.
    additional_secret_outputs: tuple[str, ...] = field(default=(), compare=False)
    # The URNs this resource may have had before (tools/urn_snapshot.py); not part of the inventory contract.
    aliases: tuple[Alias, ...] = field(default=(), compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            **({"deleteBeforeReplace": True} if self.delete_before_replace else {}),
            **({"ignoreChanges": list(self.ignore_changes)} if self.ignore_changes else {}),
            **({"replacementTrigger": self.replacement_trigger} if self.replacement_trigger is not None else {}),
            **({"replaceWith": list(self.replace_with)} if self.replace_with else {}),
            "dependencies": list(self.dependencies),
            "inputs": self.inputs,
        }


@dataclass(frozen=True)
class Invoke:
    """One data-source call as the engine receives it (ResourceInvokeRequest): run as whoever runs the program, in a
    preview as much as in an update."""

    token: str
    args: dict[str, Any]
    # What the (mock) provider answered.
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class Capture:
    stack: str
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[Invoke] = field(default_factory=list)

    def of_type(self, token: str) -> list[Registration]:
        return [r for r in self.resources if r.type == token]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.resources if r.urn == urn)


def redact(value: Any) -> Any:
    """Replace every secret-marked value with SECRET; keep the shape of everything else."""
    if rpc.is_rpc_secret(value) or isinstance(value, Unknown):
        return SECRET if rpc.is_rpc_secret(value) else UNKNOWN
    if isinstance(value, dict):
        return {key: redact(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        # The wire format carries every number as a double; integers read back as what the program wrote.
        return int(value)
    if isinstance(value, pulumi.Resource):
        return f"[resource {type(value).__name__}]"
    return value


# Marks a wire-format secret, asset, archive or resource reference (pulumi/runtime/rpc.py `_special_sig_key`).
_SPECIAL_SIGNATURE = "4dabf18193072939515e22adb298388d"


def _preview_state(inputs: Any, response: Any) -> Any:
    """The inputs, with every property the response has beyond them unknown, object by object."""
    if not isinstance(inputs, dict) or not isinstance(response, dict):
        return inputs
    if _SPECIAL_SIGNATURE in inputs or _SPECIAL_SIGNATURE in response:
        return inputs
    state: dict[str, Any] = dict.fromkeys(response, rpc.UNKNOWN)
    state.update({key: _preview_state(value, response.get(key)) for key, value in inputs.items()})
    return state


class CapturingMonitor(MockMonitor):
    def __init__(
        self,
        mocks: pulumi.runtime.Mocks,
        on_register: Callable[[Registration], None] | None = None,
        preview: bool = False,
    ) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self._urns: set[str] = set()
        self._on_register = on_register
        self.preview = preview
        self.invokes: list[Invoke] = []

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        # The SDK sends no invoke whose arguments are unknown (pulumi/runtime/invoke.py, `_invoke`): what is recorded
        # is what the provider would be asked.
        response = super().Invoke(request)  # type: ignore[no-untyped-call]
        args = redact(rpc.deserialize_properties(request.args, keep_internal=False))
        result = redact(rpc.deserialize_properties(getattr(response, "return"), keep_internal=False))
        self.invokes.append(Invoke(token=request.tok, args=args, result=result))
        return response

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if self.preview and request.custom and not request.importId:
            # What the engine answers during `pulumi preview` for a resource it would create: no ID, and the
            # provider's preview state. azure-native's Create with `preview` returns `PreviewOutputs(inputs,
            # response)`: the inputs, every other response property computed (pulumi-azure-native
            # provider/pkg/provider/provider.go, Create). The mock's outputs stand in for the response's shape. The SDK
            # resolves the empty ID and every unknown as unknown (pulumi/runtime/rpc.py, while `is_dry_run()`), and
            # `apply` callbacks over them do not run. An imported resource is read at preview, so it stays known.
            state = _preview_state(json_format.MessageToDict(request.object), self.resources[response.urn].state)
            state = json_format.ParseDict(state, struct_pb2.Struct())
            response = type(response)(urn=response.urn, id="", object=state)
        dependencies = set(request.dependencies)
        for property_dependencies in request.propertyDependencies.values():
            dependencies.update(property_dependencies.urns)
        # The engine creates an explicit provider before anything that uses it. A reference is "<URN>::<ID>" and
        # URNs contain "::" themselves; default providers belong to the engine and were never registered here.
        provider = request.provider.rsplit("::", 1)[0] if request.provider else ""
        if provider in self._urns:
            dependencies.add(provider)
        inputs = rpc.deserialize_properties(request.object, keep_internal=False)
        self.registrations.append(
            Registration(
                urn=response.urn,
                id=response.id,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=bool(request.custom),
                protect=bool(request.protect),
                dependencies=tuple(sorted(dependencies)),
                inputs=redact(inputs),
                wire_inputs=inputs,
                outputs=redact(rpc.deserialize_properties(response.object, keep_internal=False))
                if response.object
                else {},
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=tuple(request.ignoreChanges),
                replacement_trigger=json_format.MessageToDict(request.replacement_trigger)
                if request.HasField("replacement_trigger")
                else None,
                replace_with=tuple(request.replace_with),
                import_id=request.importId,
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
                aliases=tuple(_alias(alias) for alias in request.aliases),
            )
        )
        self._urns.add(response.urn)
        if self._on_register:
            self._on_register(self.registrations[-1])
        return response


def _alias(message: Any) -> Alias:
    if not message.HasField("spec"):
        return Alias(urn=message.urn)
    spec = message.spec
    return Alias(
        name=spec.name,
        type=spec.type,
        stack=spec.stack,
        project=spec.project,
        parent=spec.parentUrn,
        no_parent=spec.noParent,
    )


def load_stack_config(path: Path) -> tuple[dict[str, str], list[str]]:
    """Config in the shape the language host passes it: JSON-encoded objects, secure values as placeholders.

    Raises ConfigError for a file that is not YAML (naming its line and column) and for a secret written in plain text.
    """
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(
            f"invalid stack configuration:\n  {where}: is not valid YAML: {error.problem or error.context}"
        ) from None
    config_section = (document.get("config") or {}) if isinstance(document, dict) else {}
    plaintext = stack_file.plaintext_secrets(config_section, PROJECT)
    if plaintext:
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(plaintext))
    config: dict[str, str] = {}
    secret_keys: list[str] = []

    def plain(value: Any, key: str, path: str) -> Any:
        if isinstance(value, dict) and set(value) == {"secure"}:
            if key not in secret_keys:
                secret_keys.append(key)
            return URL_SECRET_PLACEHOLDER if path in URL_SECRETS else SECRET_CONFIG_PLACEHOLDER
        if isinstance(value, dict):
            return {k: plain(v, key, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v, key, path) for v in value]
        return value

    for key, value in (document.get("config") or {}).items():
        resolved = plain(value, key, key)
        if isinstance(resolved, (dict, list)):
            config[key] = json.dumps(resolved)
        elif isinstance(resolved, bool):
            config[key] = "true" if resolved else "false"
        else:
            config[key] = str(resolved)
    return config, secret_keys


async def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in sorted(outputs.items()):
        output = pulumi.Output.from_input(value)
        if not await output.is_known():
            resolved[key] = UNKNOWN
        else:
            resolved[key] = SECRET if await output.is_secret() else redact(await output.future())
    return resolved


def execute(
    monitor: CapturingMonitor,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    program: Path,
    *,
    project: str = PROJECT,
) -> None:
    """Run the program once under `monitor`; raises whatever the program raises."""
    os.environ["PULUMI_CONFIG"] = json.dumps(config)
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(secret_keys)
    # Each run needs its own root stack resource; set_mocks only creates one when none is installed.
    set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=monitor.preview, monitor=monitor)

    def program_run() -> None:
        runpy.run_path(str(program), run_name="__main__")

    _sync_await(run_pulumi_func(program_run))


def run(
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    program: Path = ROOT / "__main__.py",
    on_register: Callable[[Registration], None] | None = None,
    *,
    project: str = PROJECT,
    preview: bool = False,
) -> Capture:
    """Run the program once for `stack` with `config` and return everything it registered and exported; with
    `preview`, as `pulumi preview` of a new stack sees it (computed outputs unknown)."""
    monitor = CapturingMonitor(EstateMocks(), on_register, preview)
    execute(monitor, stack, config, secret_keys, program, project=project)
    exported: dict[str, Any] = dict(getattr(get_root_resource(), "outputs", {}))
    outputs = _sync_await(_resolve_outputs(exported))
    return Capture(
        stack=stack,
        resources=sorted(monitor.registrations, key=lambda r: r.urn),
        outputs=outputs,
        invokes=monitor.invokes,
    )


def run_stack_file(stack: str, path: Path | None = None) -> Capture:
    config, secret_keys = load_stack_config(path or ROOT / f"Pulumi.{stack}.yaml")
    return run(stack, config, secret_keys)
