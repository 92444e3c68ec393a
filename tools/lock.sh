#!/usr/bin/env bash
# Compiles each requirements*.in (the versions we choose) into requirements*.txt (every transitive dependency pinned,
# with the hashes of its published files), which tools/setup.sh installs with --require-hashes. Run it after editing an
# .in file and commit both. The pins already in a .txt are kept unless the .in asks otherwise
# (add --upgrade-package NAME to move one). Needs the package index; pip-tools runs from a throwaway virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
"${PYTHON:-python3.11}" -m venv "$tools"
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check pip-tools==7.6.2
# requirements.txt first: requirements-dev.in constrains itself to it.
for name in requirements requirements-dev requirements-validators requirements-pip; do
  "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
    --output-file "$name.txt" "$@" "$name.in"
done
