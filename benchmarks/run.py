"""Offline-preview benchmarks of the prod stack (issue 5): prints the figures next to their targets.

    .venv/bin/python benchmarks/run.py [--repeat K] [--skip-tests] [--json PATH]

Every run is a fresh interpreter (`benchmarks.measure`), so each peak RSS is that run's own. Times are the best of K
runs: on a shared machine the minimum is the figure least disturbed by other load (the load average is printed).
Issue 12's preview target is stated as a median, so the 1-service wall time is also reported as the median of its K
runs and judged on that.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as `python benchmarks/run.py`, Python puts benchmarks/ on sys.path, not the repository root.
    sys.path.insert(0, str(ROOT))

from benchmarks import deploy_time, scale_check  # noqa: E402
from benchmarks.measure import Kind, Measurement, MeasurementError, measure_in_subprocess  # noqa: E402

SERVICE_COUNTS = (1, 10, 30, 50)
RATIO_SERVICES = 30
MEMORY_SERVICES = 50
FIRST_RUN_LIMIT_SECONDS = 5.0
PER_SERVICE_LIMIT_SECONDS = 0.5
SCALING_RATIO_LIMIT = 1.1
MEMORY_LIMIT_MIB = 1024.0
TEST_SUITE_LIMIT_SECONDS = 60.0
# Issue 12 (platform templates): what onboarding one more service may cost, and the prod preview with one service.
ISSUE_12_CUSTOM_PER_SERVICE = 30
ISSUE_12_SECONDS_PER_SERVICE = 0.1
ISSUE_12_MEDIAN_WALL_SECONDS = 3.5
DEPLOY_RATIO_LIMIT = 1.1
TEST_COMMAND = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")


@dataclass(frozen=True)
class Machine:
    cpus: int
    cpu_model: str
    python: str
    pulumi: str
    load_average: str
    revision: str

    @staticmethod
    def describe() -> Machine:
        cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
        model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False)
        return Machine(
            # What `nproc` prints: the CPUs this process may run on.
            cpus=len(os.sched_getaffinity(0)),
            cpu_model=model.group(1) if model else platform.processor(),
            python=platform.python_version(),
            pulumi=metadata.version("pulumi"),
            load_average=" ".join(Path("/proc/loadavg").read_text().split()[:3]),
            # The tree under measurement changes while the team works: say which one was measured.
            revision=(head.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty.stdout.strip() else ""),
        )


@dataclass(frozen=True)
class Size:
    """The prod stack with `services` generated services: best-of-K times (and the median wall time), the highest peak
    RSS, one inventory's deployment estimate."""

    services: int
    wall_seconds: float
    median_wall_seconds: float
    program_seconds: float
    peak_rss_mib: float
    custom: int
    components: int
    critical_path_seconds: float
    serial_seconds: float
    samples: list[dict[str, float]]

    @property
    def registrations(self) -> int:
        return self.custom + self.components


@dataclass(frozen=True)
class Floor:
    """The mock engine's cost of `resources` bare custom resources, best of K."""

    resources: int
    program_seconds: float
    samples: list[float]


@dataclass(frozen=True)
class Target:
    name: str
    figure: str
    limit: str
    passed: bool


def _size(services: int, repeat: int) -> Size:
    runs: list[Measurement] = [
        measure_in_subprocess(Kind.ESTATE, services, keep_inventory=index == 0) for index in range(repeat)
    ]
    _, estimate = deploy_time.estimate(runs[0].inventory)
    if any((run.custom, run.components) != (runs[0].custom, runs[0].components) for run in runs):
        raise MeasurementError(
            f"{services} services: runs registered different resources (a nondeterministic program, or the tree changed"
            " during the benchmark)"
        )
    return Size(
        services=services,
        wall_seconds=min(run.wall_seconds for run in runs),
        median_wall_seconds=statistics.median(run.wall_seconds for run in runs),
        program_seconds=min(run.program_seconds for run in runs),
        peak_rss_mib=max(run.peak_rss_mib for run in runs),
        custom=runs[0].custom,
        components=runs[0].components,
        critical_path_seconds=estimate.critical_path.seconds,
        serial_seconds=estimate.serial_seconds,
        samples=[
            {"wall_seconds": run.wall_seconds, "program_seconds": run.program_seconds, "peak_rss_mib": run.peak_rss_mib}
            for run in runs
        ],
    )


def _floor(resources: int, repeat: int) -> Floor:
    samples = [measure_in_subprocess(Kind.FLOOR, resources).program_seconds for _ in range(repeat)]
    return Floor(resources=resources, program_seconds=min(samples), samples=samples)


def _per(numerator: float, denominator: float, what: str) -> float:
    if denominator == 0:
        raise RuntimeError(f"cannot derive {what}: the denominator is zero")
    return numerator / denominator


def derive(sizes: dict[int, Size], floors: tuple[Floor, Floor]) -> dict[str, float]:
    """Marginal figures between the smallest and largest stacks, scaling between 1 and 30 services, and our
    per-resource cost against the engine's floor over the same resource counts."""
    first, last, mid = sizes[SERVICE_COUNTS[0]], sizes[SERVICE_COUNTS[-1]], sizes[RATIO_SERVICES]
    added_services = last.services - first.services
    added_resources = last.registrations - first.registrations
    small, large = floors
    ours = _per(last.program_seconds - first.program_seconds, added_resources, "seconds per resource")
    floor = _per(large.program_seconds - small.program_seconds, large.resources - small.resources, "floor")
    return {
        "resources_per_service": _per(added_resources, added_services, "resources per service"),
        "custom_per_service": _per(last.custom - first.custom, added_services, "custom resources per service"),
        "seconds_per_service": _per(last.program_seconds - first.program_seconds, added_services, "per service"),
        "time_ratio_1_30": _per(mid.program_seconds, first.program_seconds, "time ratio"),
        "resource_ratio_1_30": _per(mid.registrations, first.registrations, "resource ratio"),
        "seconds_per_resource": ours,
        "floor_seconds_per_resource": floor,
        "cost_over_floor": _per(ours, floor, "cost over floor"),
        "average_seconds_per_resource": _per(first.program_seconds, first.registrations, "average"),
        "floor_average_seconds_per_resource": _per(small.program_seconds, small.resources, "floor average"),
    }


def time_test_suite() -> dict[str, Any]:
    started = time.perf_counter()
    completed = subprocess.run(TEST_COMMAND, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    return {"seconds": seconds, "exit_code": completed.returncode, "summary": lines[-1] if lines else ""}


def targets(
    sizes: dict[int, Size], derived: dict[str, float], deploy_ratio: float, tests: dict[str, Any] | None
) -> list[Target]:
    first = sizes[SERVICE_COUNTS[0]]
    scaling = derived["time_ratio_1_30"] / derived["resource_ratio_1_30"]
    memory = sizes[MEMORY_SERVICES].peak_rss_mib
    rows = [
        Target(
            f"prod, {first.services} service: wall time",
            f"{first.wall_seconds:.2f} s",
            f"< {FIRST_RUN_LIMIT_SECONDS:.0f} s",
            first.wall_seconds < FIRST_RUN_LIMIT_SECONDS,
        ),
        Target(
            "each added service",
            f"{derived['seconds_per_service']:.3f} s",
            f"< {PER_SERVICE_LIMIT_SECONDS} s",
            derived["seconds_per_service"] < PER_SERVICE_LIMIT_SECONDS,
        ),
        Target(
            f"time ratio / resource ratio, 1 -> {RATIO_SERVICES} services",
            f"{scaling:.2f}",
            f"<= {SCALING_RATIO_LIMIT}",
            scaling <= SCALING_RATIO_LIMIT,
        ),
        Target(
            f"peak RSS at {MEMORY_SERVICES} services",
            f"{memory:.0f} MiB",
            f"< {MEMORY_LIMIT_MIB:.0f} MiB",
            memory < MEMORY_LIMIT_MIB,
        ),
        Target(
            "deployment: critical path / unavoidable chain",
            f"{deploy_ratio:.2f}",
            f"<= {DEPLOY_RATIO_LIMIT}",
            deploy_ratio <= DEPLOY_RATIO_LIMIT,
        ),
        Target(
            "issue 12: provider resources per added service",
            f"{derived['custom_per_service']:.1f}",
            f"<= {ISSUE_12_CUSTOM_PER_SERVICE}",
            derived["custom_per_service"] <= ISSUE_12_CUSTOM_PER_SERVICE,
        ),
        Target(
            "issue 12: each added service",
            f"{derived['seconds_per_service']:.3f} s",
            f"<= {ISSUE_12_SECONDS_PER_SERVICE} s",
            derived["seconds_per_service"] <= ISSUE_12_SECONDS_PER_SERVICE,
        ),
        Target(
            f"issue 12: prod, {first.services} service: median wall time",
            f"{first.median_wall_seconds:.2f} s",
            f"<= {ISSUE_12_MEDIAN_WALL_SECONDS} s",
            first.median_wall_seconds <= ISSUE_12_MEDIAN_WALL_SECONDS,
        ),
    ]
    if tests is not None:
        passed = tests["exit_code"] == 0 and tests["seconds"] < TEST_SUITE_LIMIT_SECONDS
        status = "" if tests["exit_code"] == 0 else f" (suite exited {tests['exit_code']})"
        rows.append(
            Target(
                "test suite",
                f"{tests['seconds']:.1f} s{status}",
                f"< {TEST_SUITE_LIMIT_SECONDS:.0f} s",
                passed,
            )
        )
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, tuple("-" * width for width in widths), *rows]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)) for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; times are the best of them")
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    machine = Machine.describe()
    print(f"nproc {machine.cpus}; {machine.cpu_model}; Python {machine.python}; pulumi {machine.pulumi}")
    print(f"load average {machine.load_average}; tree {machine.revision}; best of {args.repeat} runs per figure\n")

    try:
        sizes = {services: _size(services, args.repeat) for services in SERVICE_COUNTS}
        # The floor over the same resource counts as the estate, so any non-linearity in the engine is on both sides.
        floors = (
            _floor(sizes[SERVICE_COUNTS[0]].registrations, args.repeat),
            _floor(sizes[SERVICE_COUNTS[-1]].registrations, args.repeat),
        )
        prod = measure_in_subprocess(Kind.ESTATE, None, keep_inventory=True)
    except MeasurementError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    derived = derive(sizes, floors)
    graph, estimate = deploy_time.estimate(prod.inventory)
    tests = None if args.skip_tests else time_test_suite()

    print(
        _table(
            (
                "services",
                "wall s",
                "median wall s",
                "program s",
                "peak MiB",
                "custom",
                "components",
                "critical path",
                "serial sum",
            ),
            [
                (
                    str(size.services),
                    f"{size.wall_seconds:.2f}",
                    f"{size.median_wall_seconds:.2f}",
                    f"{size.program_seconds:.2f}",
                    f"{size.peak_rss_mib:.0f}",
                    str(size.custom),
                    str(size.components),
                    deploy_time.minutes(size.critical_path_seconds),
                    deploy_time.minutes(size.serial_seconds),
                )
                for size in sizes.values()
            ],
        )
    )
    print(
        f"\nper added service: {derived['resources_per_service']:.1f} registrations "
        f"({derived['custom_per_service']:.1f} custom), {derived['seconds_per_service'] * 1000:.1f} ms"
    )
    print(
        f"1 -> {RATIO_SERVICES} services: time x{derived['time_ratio_1_30']:.2f}, "
        f"registrations x{derived['resource_ratio_1_30']:.2f}"
    )
    print(
        f"mock engine floor ({floors[0].resources} -> {floors[1].resources} bare resources): "
        f"{derived['floor_seconds_per_resource'] * 1000:.2f} ms a resource; ours "
        f"{derived['seconds_per_resource'] * 1000:.2f} ms a resource = {derived['cost_over_floor']:.1f} x the floor "
        f"(averages incl. fixed costs at 1 service: ours {derived['average_seconds_per_resource'] * 1000:.1f} ms, "
        f"floor {derived['floor_average_seconds_per_resource'] * 1000:.1f} ms)"
    )
    print(f"\ndeployment estimate, prod stack as configured ({prod.custom} custom resources):")
    print(deploy_time.report(graph, estimate))
    scale = scale_check.check(RATIO_SERVICES)
    print(f"\nonboarding at scale: {scale_check.report(scale)}")
    if tests is not None:
        print(f"\ntest suite: {tests['seconds']:.1f} s, exit {tests['exit_code']}: {tests['summary']}")

    rows = targets(sizes, derived, estimate.ratio, tests)
    print()
    print(
        _table(
            ("target", "figure", "limit", "result"),
            [(row.name, row.figure, row.limit, "pass" if row.passed else "MISS") for row in rows],
        )
    )
    if args.json:
        document = {
            "machine": dataclasses.asdict(machine),
            "repeat": args.repeat,
            "sizes": [{**dataclasses.asdict(size), "registrations": size.registrations} for size in sizes.values()],
            "floors": [dataclasses.asdict(floor) for floor in floors],
            "derived": derived,
            "deploy": {
                "critical_path_seconds": estimate.critical_path.seconds,
                "critical_path": [graph.resources[urn].name for urn in estimate.critical_path.urns],
                "serial_seconds": estimate.serial_seconds,
                "unavoidable_chain_seconds": estimate.unavoidable.seconds,
                "unavoidable_chain": [graph.resources[urn].name for urn in estimate.unavoidable.urns],
                "ratio": estimate.ratio,
                "violations": [
                    {"rule": violation.rule, "path": list(violation.path)} for violation in estimate.violations
                ],
                "unknown_types": list(estimate.unknown_types),
            },
            "tests": tests,
            "targets": [dataclasses.asdict(row) for row in rows],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
