#!/usr/bin/env bash
# The `cluster` profile under faults: replay generated alerts at a steady rate, then, mid-run, stop one
# Kafka broker (kafka2) and kill one Spark worker (spark-worker-2); bring them back after a while; then
# wait for the reconciliation report and show what happened (executor loss and relaunch, partition
# leadership, the report). Output goes to stdout and to $FINK_STATE_DIR/compose-faults/ (default .fink/).
#   deploy/compose/cluster-faults.sh [N_ALERTS=3000] [RATE=25] [FAULT_AFTER_S=40] [DOWN_FOR_S=90]
# Needs the images (./fink images); starts from an empty stack (down -v) and leaves it down -v at the end
# unless KEEP=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N="${1:-3000}"; RATE="${2:-25}"; FAULT_AFTER="${3:-40}"; DOWN_FOR="${4:-90}"
OUT="${FINK_STATE_DIR:-$ROOT/.fink}/compose-faults"
ALERTS="$OUT/alerts"
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
C=(docker compose --env-file "$ROOT/deploy/compose/cluster.env" -f "$ROOT/deploy/compose/compose.yaml")
say() { printf '[faults %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

say "starting from an empty stack"
"${C[@]}" down -v -t 60 >/dev/null 2>&1 || true
if [ ! -f "$ALERTS/n$N/manifest.json" ]; then
  say "generating $N synthetic alerts into $ALERTS/n$N (datasim image)"
  mkdir -p "$ALERTS" && chmod 777 "$ALERTS"
  docker run --rm -v "$ALERTS:/out" fink/datasim:latest generate --n "$N" --seed 7 --out "/out/n$N" --quiet
fi
export FINK_DATASIM_DIR="$ALERTS" FINK_ALERTS="n$N" FINK_REPLAY_RATE="$RATE" FINK_REPORT_WAIT=1200
T0=$SECONDS
"${C[@]}" up -d >/dev/null 2>&1
say "stack up in $((SECONDS - T0)) s; datasim replays $N alerts at $RATE/s (~$((N / RATE)) s)"
"${C[@]}" ps --format '{{.Service}}: {{.Status}}'

sleep "$FAULT_AFTER"
say "FAULT: docker compose stop kafka2 (a broker and KRaft voter), docker compose kill spark-worker-2"
"${C[@]}" stop -t 10 kafka2 >/dev/null 2>&1
"${C[@]}" kill spark-worker-2 >/dev/null 2>&1
sleep "$DOWN_FOR"
say "after ${DOWN_FOR} s with kafka2 and spark-worker-2 down:"
"${C[@]}" ps -a --format '{{.Service}}: {{.Status}}' | grep -E 'kafka|spark|stream2raw|raw2science|distribution|archive|datasim'
docker logs fink-datasim-1 2>&1 | tail -1
say "RECOVER: docker compose start kafka2 spark-worker-2"
"${C[@]}" start kafka2 spark-worker-2 >/dev/null 2>&1

say "waiting for the reconciliation (report --wait 1200)"
rc=0
"${C[@]}" run --rm report | tee "$OUT/report.txt" || rc=$?
say "report exit code $rc after $((SECONDS - T0)) s in all"

say "what Spark did (master log: executors lost and launched)"
docker logs fink-spark-master-1 2>&1 | grep -E "Removing executor|Launching executor|Removing worker|Registering worker|lost" | tail -20
say "what the stages saw (driver WARN/ERROR lines about lost executors or brokers, last 5 each)"
for s in stream2raw raw2science distribution archive; do
  echo "-- $s"; docker logs "fink-$s-1" 2>&1 | grep -E "WARN|ERROR" | grep -viE "NativeCodeLoader|log4j" | tail -5 | cut -c1-240
done
say "Kafka: broker restarts and restarted containers"
"${C[@]}" ps -a --format '{{.Service}}: {{.Status}}'
if [ "${KEEP:-0}" != 1 ]; then "${C[@]}" down -v -t 60 >/dev/null 2>&1; say "stack removed (down -v)"; fi
exit "$rc"
