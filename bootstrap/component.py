"""What the bootstrap program's components add to every component's: their type token namespace, protected children."""

from __future__ import annotations

import pulumi

from components.component import Component


class BootstrapComponent(Component):
    """`aks-estate:bootstrap:<kind>`, whose children hang under it by `self.child` or, when a delete must not take
    them, by `self.kept`."""

    def __init__(self, kind: str, name: str, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(f"aks-estate:bootstrap:{kind}", name, opts)
        # What a mistaken delete must not take: the state, the secrets keys, the IaC repository and its project.
        self.kept = pulumi.ResourceOptions(parent=self, protect=True)
