"""The mock engine's floor: N bare custom resources, one input each, nothing wired between them.

Run by `benchmarks.measure floor` under the same monitor and mocks as the estate; N comes from the config key
`benchmark:resources` so the program stays a plain Pulumi program.
"""

import pulumi

for index in range(pulumi.Config("benchmark").require_int("resources")):
    pulumi.CustomResource("benchmark:index:Bare", f"bare-{index:05d}", {"value": index})
