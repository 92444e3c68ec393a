"""One measurement per fresh interpreter, so that the peak RSS it reports is that run's alone.

    python -m benchmarks.measure estate [--services N] --result PATH [--inventory PATH]
    python -m benchmarks.measure floor --resources N --result PATH

`estate` runs `__main__.py` for the prod stack (with N generated services instead of the configured ones) under
the same mock engine as the offline preview; `floor` runs a program registering N bare custom resources under the
identical setup, which is what the engine costs per resource before our program does anything. The parent
(`measure_in_subprocess`) times the whole process; the child times the program and reports its own peak RSS.
"""

from __future__ import annotations

import argparse
import enum
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.deploy_time import Node
from tools import capture
from tools.mocks import EstateMocks

STACK = "prod"
SERVICES_KEY = "aks-estate:services"
FLOOR_PROGRAM = Path(__file__).resolve().with_name("floor_program.py")
FLOOR_CONFIG_KEY = "benchmark:resources"


class Kind(enum.StrEnum):
    ESTATE = "estate"
    FLOOR = "floor"


class MeasurementError(RuntimeError):
    """A measured child process failed; the message carries the end of its stderr."""


def services_config(count: int) -> list[dict[str, str]]:
    """`count` services named svc-001, svc-002, ...: valid service names in the order the config lists them."""
    if count < 1:
        raise ValueError(f"a stack needs at least one service, not {count}")
    return [{"name": f"svc-{index:03d}"} for index in range(1, count + 1)]


def with_services(config: dict[str, str], count: int) -> dict[str, str]:
    """The stack config with its services replaced, in the JSON form the language host passes structured keys in."""
    return {**config, SERVICES_KEY: json.dumps(services_config(count))}


def inventory(monitor: capture.CapturingMonitor) -> list[Node]:
    return sorted(
        (
            Node(
                urn=registration.urn,
                type=registration.type,
                name=registration.name,
                custom=registration.custom,
                dependencies=registration.dependencies,
            )
            for registration in monitor.registrations
        ),
        key=lambda node: node.urn,
    )


@dataclass(frozen=True)
class Measurement:
    # The whole child process, interpreter start to exit: what a user of the offline preview waits.
    wall_seconds: float
    # The program alone under the mock engine, from the first line of the program to its last registration.
    program_seconds: float
    peak_rss_mib: float
    custom: int
    components: int
    inventory: list[Node] = field(default_factory=list, compare=False)


def _measure(kind: Kind, count: int | None, inventory_path: Path | None) -> dict[str, Any]:
    monitor = capture.CapturingMonitor(EstateMocks())
    if kind is Kind.ESTATE:
        config, secret_keys = capture.load_stack_config(capture.ROOT / f"Pulumi.{STACK}.yaml")
        if count is not None:
            config = with_services(config, count)
        program = capture.ROOT / "__main__.py"
    else:
        config, secret_keys, program = {FLOOR_CONFIG_KEY: str(count)}, [], FLOOR_PROGRAM
    started = time.perf_counter()
    capture.execute(monitor, STACK, config, secret_keys, program)
    program_seconds = time.perf_counter() - started
    # Read before anything else allocates: the peak belongs to the program run (ru_maxrss is in KiB on Linux).
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if inventory_path is not None:
        inventory_path.write_text(json.dumps([node.as_json() for node in inventory(monitor)]))
    return {
        "program_seconds": program_seconds,
        "peak_rss_mib": peak_rss_mib,
        "custom": sum(1 for r in monitor.registrations if r.custom),
        "components": sum(1 for r in monitor.registrations if not r.custom),
    }


def measure_in_subprocess(kind: Kind, count: int | None, *, keep_inventory: bool = False) -> Measurement:
    """Run one measurement in a fresh interpreter (this one's executable, from the repository root)."""
    with tempfile.TemporaryDirectory(prefix="aks-estate-benchmark-") as scratch:
        result_path, inventory_path = Path(scratch) / "result.json", Path(scratch) / "inventory.json"
        command = [sys.executable, "-m", "benchmarks.measure", kind.value, "--result", str(result_path)]
        if count is not None:
            command += ["--services" if kind is Kind.ESTATE else "--resources", str(count)]
        if keep_inventory:
            command += ["--inventory", str(inventory_path)]
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=capture.ROOT, capture_output=True, text=True, check=False)
        wall_seconds = time.perf_counter() - started
        if completed.returncode != 0:
            tail = "\n".join(completed.stderr.splitlines()[-25:])
            raise MeasurementError(f"{' '.join(command[1:])} exited {completed.returncode}:\n{tail}")
        figures = json.loads(result_path.read_text())
        nodes = [Node.from_json(entry) for entry in json.loads(inventory_path.read_text())] if keep_inventory else []
    return Measurement(wall_seconds=wall_seconds, inventory=nodes, **figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure", description=__doc__.splitlines()[0])
    parser.add_argument("kind", type=Kind, choices=list(Kind))
    parser.add_argument("--services", type=int, help="estate: generated services instead of the configured ones")
    parser.add_argument("--resources", type=int, help="floor: bare resources to register")
    parser.add_argument("--result", type=Path, required=True, help="where to write the figures (JSON)")
    parser.add_argument("--inventory", type=Path, help="estate: where to write the dependency graph (JSON)")
    args = parser.parse_args(argv)
    if args.kind is Kind.FLOOR and args.resources is None:
        parser.error("floor needs --resources")
    count = args.services if args.kind is Kind.ESTATE else args.resources
    args.result.write_text(json.dumps(_measure(args.kind, count, args.inventory)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
