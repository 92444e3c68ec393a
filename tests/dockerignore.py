"""Which paths a .dockerignore keeps out of a Docker build context, as BuildKit decides it.

A minimal port (POSIX paths only) of the matcher BuildKit's context transfer uses, from moby/patternmatcher
(commit 5a6d8429):
- ignorefile/ignorefile.go, `ReadAll`: lines starting with "#" are comments; each other line is trimmed, a leading
  "!" marks an exception, the rest is `filepath.Clean`ed and loses a leading "/".
- patternmatcher.go, `New`: `filepath.Clean` again; `Pattern.compile`: "**" (eating a following "/") becomes
  "(.*/)?", or at the end of the pattern "everything"; "*" becomes "[^/]*", "?" "[^/]", `.+()|{}$` are escaped, "\\"
  escapes the next character, "[" and "]" pass through as a class; a pattern without any of these matches exactly,
  one ending in "**" by prefix, one starting with "**" by suffix (and "**/foo" also matches "foo").
- patternmatcher.go, `MatchesOrParentMatches`: every pattern in order, a path matches a pattern when it or one of
  its parent directories does, and the LAST matching pattern decides (an exception re-includes). BuildKit's walker
  (tonistiigi/fsutil) uses the same patterns through `MatchesUsingParentResults`, which gives the same answer;
  docker-py's `exclude_paths` is no stand-in (it differs on `**/dir` against `dir/file`, among upstream's cases).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

_ESCAPED = frozenset(".+()|{}$")
_WILDCARDS = {"*": "[^/]*", "?": "[^/]"}


@dataclass(frozen=True)
class Pattern:
    text: str
    exception: bool

    def matches(self, path: str) -> bool:
        kind, regex = _compile(self.text)
        if kind == "exact":
            return path == self.text
        if kind == "prefix":
            return path.startswith(self.text[:-2])
        if kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        return re.search(regex, path) is not None


def _compile(pattern: str) -> tuple[str, str]:
    regex, kind, i = "^", "exact", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            at_start = i == 0
            i += 3 if pattern.startswith("/", i + 2) else 2
            if i < len(pattern):
                regex, kind = regex + "(.*/)?", "regexp"
            elif kind == "exact":
                kind = "prefix"
            else:
                regex, kind = regex + ".*", "regexp"
            kind = "suffix" if at_start else kind
            continue
        translated, special = _character(pattern, i)
        regex, kind = regex + translated, "regexp" if special else kind
        i += 2 if pattern[i] == "\\" and i + 1 < len(pattern) else 1
    return kind, regex + "$"


def _character(pattern: str, i: int) -> tuple[str, bool]:
    """The regex for the pattern character at `i` (with the one it escapes), and whether it makes the pattern a
    regex rather than an exact match."""
    ch = pattern[i]
    if ch in _WILDCARDS:
        return _WILDCARDS[ch], True
    if ch in _ESCAPED:
        return "\\" + ch, False
    if ch == "\\":
        return ("\\" + pattern[i + 1], True) if i + 1 < len(pattern) else ("\\", False)
    return ch, ch in "[]"


def read_patterns(text: str) -> list[Pattern]:
    """The patterns of a .dockerignore file's text, in order."""
    patterns = []
    for raw in text.removeprefix("\ufeff").splitlines():
        if raw.startswith("#") or not raw.strip():
            continue
        line = raw.strip()
        exception = line.startswith("!")
        line = posixpath.normpath(line[1:].strip() if exception else line)
        if len(line) > 1 and line.startswith("/"):
            line = line.lstrip("/") or "/"
        patterns.append(Pattern(posixpath.normpath(line), exception))
    return patterns


def excluded(path: str, patterns: list[Pattern]) -> bool:
    """Whether `path` (relative to the context, "/"-separated) is left out of the build context."""
    parents = posixpath.dirname(path).split("/") if "/" in path else []
    matched = False
    for pattern in patterns:
        # As upstream: an exception is only tried once something matched, a pattern only while nothing does.
        if pattern.exception != matched:
            continue
        hit = pattern.matches(path) or any(pattern.matches("/".join(parents[: i + 1])) for i in range(len(parents)))
        if hit:
            matched = not pattern.exception
    return matched
