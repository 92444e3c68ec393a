#!/usr/bin/env bash
# Creates the two virtualenvs this repository uses and installs the locked dependencies into them, every file checked
# against its hash (`--require-hashes`); the *.in files state the intent, tools/lock.sh compiles them to the *.txt locks:
#   .venv             the Pulumi program, tests, lint and type checks (requirements-dev.txt, a superset of the
#                     program's own requirements.txt at the same versions)
#   .venv-validators  the externally written validators (requirements-validators.txt); checkov pins packaging<24,
#                     which the Pulumi SDK cannot share, so they live apart and the tests call them as programs.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || { echo "Python 3.11+ is required" >&2; exit 1; }

install() {
  "$1/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$2"
}
for venv in .venv .venv-validators; do
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  install "$venv" requirements-pip.txt
done
install .venv requirements-dev.txt
install .venv-validators requirements-validators.txt
# Graphviz's `dot` renders the offline preview's diagram; without it the preview still writes diagram.dot.
if ! command -v dot >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphviz) >/dev/null
  else
    echo "note: install Graphviz (apt-get install graphviz, brew install graphviz) to render diagram.svg" >&2
  fi
fi
echo "set up .venv and .venv-validators"
