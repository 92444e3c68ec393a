"""What every reader of an inventory calls a registered resource: a structural type with no imports of its own, so the
benchmarks and tools that only read inventories do not load pulumi-policy for it."""

from __future__ import annotations

from typing import Protocol


class Registered(Protocol):
    """A registered resource as every reader of an inventory names it (`tools.capture.Registration`, the benchmarks'
    `Node`); structural, so the pack imports no tools."""

    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def custom(self) -> bool: ...
