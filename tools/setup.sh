#!/usr/bin/env bash
# Creates the two virtualenvs this repository uses and installs the pinned dependencies into them:
#   .venv             the Pulumi program, tests, lint and type checks (requirements-dev.txt)
#   .venv-validators  the externally written validators (requirements-validators.txt); checkov pins packaging<24,
#                     which the Pulumi SDK cannot share, so they live apart and the tests call them as programs.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || { echo "Python 3.11+ is required" >&2; exit 1; }

for venv in .venv .venv-validators; do
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
.venv-validators/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-validators.txt
echo "set up .venv and .venv-validators"
