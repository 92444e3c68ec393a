"""pip's reading of a pip-compile lock (`requirements*.txt`): its exact pins and their hashes. The program reads the
stack's own lock to install the same PyYAML on an agent (components/service_files/platform.py); the tests hold every
lock complete (tests/test_requirements_lock.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!_-]+)$")


@dataclass(frozen=True)
class Entry:
    line: str
    name: str
    version: str
    hashes: tuple[str, ...]

    def as_requirement(self) -> str:
        """The entry as pip-compile writes it: the pin, then one hash option per continued line."""
        return " \\\n    ".join([f"{self.name}=={self.version}", *self.hashes])


def canonical(name: str) -> str:
    # PEP 503 normalisation: pip treats boolean.py and boolean-py as one project.
    return re.sub(r"[-_.]+", "-", name).lower()


def logical_lines(text: str) -> list[str]:
    """pip's reading of a requirements file: comments dropped, backslash continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def entries(text: str) -> dict[str, Entry]:
    """Canonical name -> entry of every exact pin."""
    parsed: dict[str, Entry] = {}
    for line in logical_lines(text):
        requirement, *options = line.split()
        match = PIN.match(requirement)
        if match:
            name = canonical(match["name"])
            parsed[name] = Entry(line, name, match["version"], tuple(options))
    return parsed
