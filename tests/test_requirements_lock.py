"""The requirements locks: every installed distribution pinned exactly and checked against the hashes of its files.

`tools/setup.sh` installs the *.txt locks with `pip install --require-hashes`; `tools/lock.sh` compiles them from the
*.in files, which state the versions we choose. An entry without `==` or without a hash would make pip refuse the whole
file in hash-checking mode (pip's `--require-hashes`: "Hashes are required ... all requirements must be pinned with ==",
pip/_internal/req/req_install.py and resolution/resolvelib), so these tests catch it before setup does.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from components.requirements_lock import PIN, canonical, entries, logical_lines
from tools.capture import ROOT

LOCKS = ("requirements.txt", "requirements-dev.txt", "requirements-validators.txt", "requirements-pip.txt")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def problems(text: str) -> list[str]:
    """What keeps `text` from being a complete lock: entries that are not exact pins or carry no sha256 hash."""
    found: list[str] = []
    for line in logical_lines(text):
        requirement, *options = line.split()
        if requirement.startswith("-"):
            # Includes (-r, -c), editables (-e) and index options are not in a compiled lock.
            found.append(f"{line!r}: an option, not a pinned requirement")
            continue
        if not PIN.match(requirement):
            found.append(f"{requirement!r}: not pinned with ==")
        if not options or not all(HASH.match(option) for option in options):
            found.append(f"{requirement!r}: not followed by sha256 hashes only")
    return found


def intent_pins(path_name: str) -> dict[str, str]:
    """The exact pins an .in file states, following its -r includes."""
    pins: dict[str, str] = {}
    for line in logical_lines((ROOT / path_name).read_text()):
        if line.startswith("-r "):
            pins |= intent_pins(line.removeprefix("-r ").strip())
            continue
        match = PIN.match(line)
        if match:
            pins[canonical(match["name"])] = match["version"]
        elif not line.startswith("-c "):
            raise AssertionError(f"{path_name}: {line!r} is not an exact pin; the .in files keep versions exact")
    return pins


@pytest.mark.parametrize("lock", LOCKS)
def test_every_entry_of_a_lock_is_pinned_and_hashed(lock: str) -> None:
    assert problems((ROOT / lock).read_text()) == []


def drift(lock_text: str, chosen: dict[str, str]) -> dict[str, tuple[str | None, str]]:
    """Each chosen pin the lock does not hold: name -> (locked version or None, chosen version)."""
    locked = entries(lock_text)
    held = {name: locked[name].version if name in locked else None for name in chosen}
    return {name: (held[name], version) for name, version in chosen.items() if held[name] != version}


@pytest.mark.parametrize("lock", LOCKS)
def test_a_lock_holds_the_versions_its_in_file_chooses(lock: str) -> None:
    assert drift((ROOT / lock).read_text(), intent_pins(lock.replace(".txt", ".in"))) == {}


def test_the_dev_environment_holds_the_programs_lock_at_the_same_versions() -> None:
    # `pulumi install` fills .venv from requirements.txt; setup.sh from requirements-dev.txt. Both must agree.
    program = {name: entry.version for name, entry in entries((ROOT / "requirements.txt").read_text()).items()}
    assert drift((ROOT / "requirements-dev.txt").read_text(), program) == {}


def test_setup_installs_every_lock_in_hash_checking_mode() -> None:
    setup = (ROOT / "tools" / "setup.sh").read_text()
    assert re.search(r"pip install .*--require-hashes -r \"\$2\"", setup)
    installed = set(re.findall(r"^\s*install \S+ (requirements[\w-]*\.txt)$", setup, re.MULTILINE))
    assert installed == set(LOCKS) - {"requirements.txt"}, installed


GOOD = """\
# comment
pulumi==3.272.0 \\
    --hash=sha256:{a} \\
    --hash=sha256:{b}
    # via -r requirements.in
""".format(a="a" * 64, b="b" * 64)


def test_the_lock_check_passes_a_good_lock() -> None:
    assert problems(GOOD) == []
    assert entries(GOOD)["pulumi"].hashes == (f"--hash=sha256:{'a' * 64}", f"--hash=sha256:{'b' * 64}")


@pytest.mark.parametrize(
    ("planted", "complaint"),
    [
        ("pyyaml==6.0.3\n", "'pyyaml==6.0.3': not followed by sha256 hashes only"),
        (f"pyyaml>=6 \\\n    --hash=sha256:{'c' * 64}\n", "'pyyaml>=6': not pinned with =="),
        (f"pyyaml \\\n    --hash=sha256:{'c' * 64}\n", "'pyyaml': not pinned with =="),
        ("pyyaml==6.0.3 --hash=md5:0123\n", "'pyyaml==6.0.3': not followed by sha256 hashes only"),
        ("-r requirements.in\n", "'-r requirements.in': an option, not a pinned requirement"),
        ("-e .\n", "'-e .': an option, not a pinned requirement"),
    ],
)
def test_the_lock_check_refuses_an_unhashed_or_unpinned_entry(planted: str, complaint: str) -> None:
    assert problems(GOOD + planted) == [complaint]


def test_a_lock_that_drifted_from_its_in_file_is_caught() -> None:
    # As if requirements.in moved a pin and nobody ran tools/lock.sh, or the lock lost an entry.
    lock = (ROOT / "requirements.txt").read_text()
    chosen = intent_pins("requirements.in")
    planted = lock.replace(f"\npulumi=={chosen['pulumi']} ", "\npulumi==0.0.1 ")
    assert planted != lock
    assert drift(planted, chosen) == {"pulumi": ("0.0.1", chosen["pulumi"])}
    missing = re.sub(r"\npydantic==.*?(?=\n\S)", "", lock, flags=re.DOTALL)
    assert drift(missing, chosen) == {"pydantic": (None, chosen["pydantic"])}


def pre_commit_problems(config: dict[str, Any]) -> list[str]:
    """Hooks that would fetch a repository or run a tool other than the locked one in .venv."""
    found: list[str] = []
    for repo in config["repos"]:
        if repo["repo"] != "local":
            found.append(f"{repo['repo']}: fetched at run time; run the tool from .venv as a local hook")
            continue
        for hook in repo["hooks"]:
            if hook.get("language") != "system" or not hook["entry"].startswith(".venv/bin/"):
                found.append(f"{hook['id']}: not the locked tool in .venv")
    return found


def test_pre_commit_runs_ruff_and_mypy_from_the_locked_venv_without_fetching() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert pre_commit_problems(config) == []
    entries = [hook["entry"].split()[0:2] for repo in config["repos"] for hook in repo["hooks"]]
    assert entries == [[".venv/bin/ruff", "check"], [".venv/bin/ruff", "format"], [".venv/bin/mypy"]]
    planted = {"repos": [*config["repos"], {"repo": "https://github.com/astral-sh/ruff-pre-commit", "hooks": []}]}
    assert pre_commit_problems(planted) == [
        "https://github.com/astral-sh/ruff-pre-commit: fetched at run time; run the tool from .venv as a local hook"
    ]
    hook = {**config["repos"][0]["hooks"][0], "entry": "ruff check"}
    assert pre_commit_problems({"repos": [{"repo": "local", "hooks": [hook]}]}) == [
        "ruff-check: not the locked tool in .venv"
    ]
