"""What every component of the bootstrap program shares: its type token namespace and the options of its children."""

from __future__ import annotations

import pulumi


class BootstrapComponent(pulumi.ComponentResource):
    """`aks-estate:bootstrap:<kind>`, with the two ways its children hang under it.

    The engine copies options before it uses them (pulumi/resource.py `Resource.__init__`, `opts._copy()`), so one
    instance serves every child.
    """

    def __init__(self, kind: str, name: str, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(f"aks-estate:bootstrap:{kind}", name, None, opts)
        self.child = pulumi.ResourceOptions(parent=self)
        # What a mistaken delete must not take: the state, the secrets keys, the IaC repository and its project.
        self.kept = pulumi.ResourceOptions(parent=self, protect=True)
