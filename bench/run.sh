#!/usr/bin/env bash
# Run a benchmark script with the broker's Python environment and every source root on PYTHONPATH, as ./fink does:
#   bench/run.sh bench/baselines.py --n 10000
# Interpreter: $FINK_BENCH_PYTHON, else the venv `./pants export` makes (dist/export/...), else /work/devvenv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${FINK_BENCH_PYTHON:-}"
if [ -z "$PY" ]; then
  venv="$(ls -d "$ROOT"/dist/export/python/virtualenvs/python-default/3.11.* 2>/dev/null | head -1 || true)"
  if [ -n "$venv" ] && [ -x "$venv/bin/python" ]; then PY="$venv/bin/python"
  elif [ -x /work/devvenv/bin/python ]; then PY=/work/devvenv/bin/python
  else echo "bench/run.sh: no Python environment: run ./pants export --resolve=python-default or set FINK_BENCH_PYTHON" >&2; exit 2
  fi
fi
roots=()
for d in "$ROOT"/libs/*/src "$ROOT"/stages/*/src "$ROOT"/datasim/src; do roots+=("$d"); done
PYTHONPATH="$(IFS=:; echo "${roots[*]}")"
export PYTHONPATH FINK_REPO_ROOT="$ROOT"
export FINK_STATE_DIR="${FINK_STATE_DIR:-$ROOT/.fink}"
[ $# -ge 1 ] || { echo "usage: bench/run.sh bench/<script>.py [args]" >&2; exit 2; }
exec "$PY" "$@"
