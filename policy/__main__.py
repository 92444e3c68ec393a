"""The aks-estate policy pack: every rule is mandatory, so a violation stops `pulumi preview` and `pulumi up`."""

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this directory as a script, so `rules` is a top-level package here; mypy, reading the file as part of
# the `policy` package the tests import, cannot resolve that name.
from rules import POLICIES  # type: ignore[import-not-found]

PolicyPack("aks-estate", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
