"""Leave out the aliases azure-native declares for its API-version types, which no stack of this program can hold.

Every azure-native resource class adds one alias per API version the type ever had, e.g. a managed cluster 113 of the
form `azure-native:containerservice/v20240102preview:ManagedCluster` (the generated `_internal_init`'s `alias_opts`).
They let a state written through an explicitly versioned class find its resource under the default class. This
program has only ever used pulumi-azure-native 3, whose SDK ships no versioned classes, and registers default tokens
only, so no state it wrote holds a versioned token: the engine looks an alias up in the prior state and nothing there
can match one (an alias only tells the engine "this old URN refers to the same resource as the new one",
pulumi.com/docs/iac/operations/stack-management/refactoring-with-aliases; it never creates or deletes anything). The
engine tries the resource's own URN first and an alias only when that is not in the state, and keeps only an alias
that matched (pulumi/pulumi pkg/resource/deploy/step_generator.go, `getOldResource`): one that never matched leaves no
trace to diff against. The README's upgrade note has the one-line check that a stack's state holds no versioned type.

They are not free: the Python SDK turns each alias into a URN in `Resource.__init__`, eagerly and whatever the engine
supports (pulumi/resource.py, `self._aliases.append(collapse_alias_to_urn(...))`, two `Output.all` per alias), and
sends each as an alias spec. Measured under the mock engine: a service brings 107 of them (a role assignment 9, a
managed namespace 20), about half of what registering a service costs.

Legacy stack transformations run in `Resource.__init__` before that work (the `_transformations` loop precedes
`self._aliases`), which is why this is one and not a `transforms` callback, which the engine calls only after the SDK
has built the aliases. Every other alias stays: the unversioned renames azure-native 3 declares for types that changed
module (`azure-native:insights:MetricAlert` for `monitor:MetricAlert`), other providers' aliases, and this program's
own (a name, parent or `aks-estate` type that moved; one that sets a name too is kept even with a versioned type).
"""

from __future__ import annotations

import copy
import re
from types import EllipsisType
from typing import Any

import pulumi

# `azure-native:<module>/<version>:<Type>`, e.g. `/v20240102preview`, `/v20181102privatepreview`, `/v20180301beta`: a
# type token of one API version (a default class's token has no `/` in its module). A local versioned package's own
# tokens (`azure-native_<module>_<version>:...`, pulumi-azure-native provider_parameterize.go) are another provider's
# and stay.
API_VERSION_TOKEN = re.compile(r"azure-native:[a-z0-9]+/[a-z0-9]+:[A-Za-z0-9]+")


def is_api_version_alias(alias: Any) -> bool:
    """An alias that changes nothing but the type, to an azure-native API-version token."""
    if not isinstance(alias, pulumi.Alias) or not isinstance(alias.type_, str):
        return False
    # pulumi.Alias marks a field left unset with `...` (pulumi/resource.py, Alias.__init__).
    only_type = all(isinstance(value, EllipsisType) for value in (alias.name, alias.parent, alias.stack, alias.project))
    return only_type and API_VERSION_TOKEN.fullmatch(alias.type_) is not None


def drop_api_version_aliases(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    aliases = args.opts.aliases
    if not aliases:
        return None
    kept = [alias for alias in aliases if not is_api_version_alias(alias)]
    if len(kept) == len(aliases):
        return None
    opts = copy.copy(args.opts)
    opts.aliases = kept
    return pulumi.ResourceTransformationResult(args.props, opts)
