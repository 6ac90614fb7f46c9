#!/usr/bin/env bash
# Copy one jar group from the fetched cache into OUT_DIR for a Docker build context, checking each jar
# against jars.lock: the images carry exactly the pinned jars that `./fink services` runs, and nothing
# is downloaded here (run deploy/jars/fetch.sh first). Used by the shell_command targets in BUILD.
#   stage.sh GROUP OUT_DIR [LOCK]
set -euo pipefail
group="$1"; out="$2"; lock="${3:-$(dirname "${BASH_SOURCE[0]}")/jars.lock}"
src="${FINK_JARS_DIR:-$HOME/.cache/fink/jars}"
mkdir -p "$out"
n=0
while read -r sha path; do
  case "$path" in "$group"/*) ;; *) continue ;; esac
  [ -f "$src/$path" ] || { echo "stage.sh: $src/$path missing: run deploy/jars/fetch.sh" >&2; exit 1; }
  echo "$sha  $src/$path" | sha256sum -c --quiet - || { echo "stage.sh: $path differs from jars.lock" >&2; exit 1; }
  cp "$src/$path" "$out/"
  n=$((n + 1))
done < <(grep -Ev '^[[:space:]]*(#|$)' "$lock")
[ "$n" -gt 0 ] || { echo "stage.sh: no $group jars in $lock" >&2; exit 1; }
echo "stage.sh: $n $group jars staged"
