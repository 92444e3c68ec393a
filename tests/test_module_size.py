"""Every module of the program's components reads in one sitting: at most 400 lines (issue 15, item 1)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 400


def too_long(directory: Path) -> dict[str, int]:
    """Each module below `directory` longer than LIMIT lines, by its path relative to `directory`, with its length."""
    lengths = {str(p.relative_to(directory)): len(p.read_text().splitlines()) for p in sorted(directory.rglob("*.py"))}
    return {path: length for path, length in lengths.items() if length > LIMIT}


def test_no_component_module_is_over_the_limit() -> None:
    assert too_long(ROOT / "components") == {}


def test_a_module_over_the_limit_is_named_with_its_length(tmp_path: Path) -> None:
    (tmp_path / "devops").mkdir()
    (tmp_path / "devops" / "long.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "short.py").write_text("x = 1\n" * LIMIT)
    assert too_long(tmp_path) == {"devops/long.py": LIMIT + 1}
