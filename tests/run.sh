#!/usr/bin/env bash
# The project's whole test run, from a clean clone: creates its own virtual environments.
#   .venv          the tool and its tests (pip install -e '.[dev]')
#   .venv-checkov  checkov, which pins libraries that clash with ours (an old boto3)
#   .venv-taskcat  taskcat, likewise (it pins jsonschema<4 and urllib3<2)
#   .venv-seed-*   each seed repository's own pinned requirements (the SageMaker SDK pins differ)
# Usage: bash tests/run.sh [pytest args for the main suite]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off

venv() {  # venv DIR REQUIREMENT-ARGS...: create DIR once and install into it
  local dir=$1; shift
  [ -x "$dir/bin/python" ] || "$PY" -m venv "$dir"
  "$dir/bin/pip" install -q "$@"
}

seeds=()
for seed in seedcode/*/; do
  seed=${seed%/}
  if [ -d "$seed/tests" ]; then seeds+=("$seed"); fi
done

echo "== environments"
venv .venv -e '.[dev]'
venv .venv-checkov 'checkov>=3.2,<4'
venv .venv-taskcat 'taskcat==0.9.58'
export SMCAT_CHECKOV=$PWD/.venv-checkov/bin/checkov
# The seed environments come first: the main suite runs the seed code's real calls in them
# (tests/runtime) and checks them against the templates' policies.
for seed in "${seeds[@]}"; do
  reqs=()
  for f in "$seed/requirements.txt" "$seed/requirements-dev.txt"; do [ -f "$f" ] && reqs+=(-r "$f"); done
  # SDK v2 -> v3 in place breaks sagemaker.serve (uninstalling v2 deletes files v3's parts just wrote)
  if "./.venv-seed-$(basename "$seed")/bin/pip" show sagemaker 2>/dev/null | grep -q '^Version: 2\.'; then
    rm -rf ".venv-seed-$(basename "$seed")"
  fi
  venv ".venv-seed-$(basename "$seed")" "${reqs[@]}"
done

# Chromium draws the docs page's diagrams in tests/test_docs_html.py (which skips without it); best effort.
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== chromium"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "chromium could not be installed: the docs page's browser test will skip"
fi

echo "== main suite"
.venv/bin/ruff check .
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 "$@"

echo "== build, lint and scan the bundled catalog"
dist=$(mktemp -d)/dist
.venv/bin/python build.py --out "$dist" --no-cache
.venv/bin/python build.py lint --security --out "$dist"
top=$PWD
if (cd "$dist" && "$top/.venv-taskcat/bin/taskcat" lint) >"$dist/../taskcat.log" 2>&1; then
  echo "taskcat lint: $(grep -c 'Linting passed' "$dist/../taskcat.log") templates passed"
else
  cat "$dist/../taskcat.log"; exit 1
fi

for seed in "${seeds[@]}"; do
  echo "== $seed tests"
  (cd "$seed" && "../../.venv-seed-$(basename "$seed")/bin/python" -m pytest -q -p no:cacheprovider)
done
