#!/usr/bin/env bash
# Single process against a tiled run on a real SLURM on this machine: a `lode synth` scene
# (default 20000 x 20000 = 400 M cells of 100 m, the issue's national scale), `lode run`
# once, then `lode plan --tiles 8 --engine slurm` submitted to a single-node SLURM started
# here on loopback (munged, slurmctld, slurmd; stopped by PID at the end). Prints the wall
# times, the overhead of the tiled run, each task's peak RSS in MiB, and checks the two
# prospectivity maps decode identical; then the seconds of each step inside the single run
# and the mosaic (their metrics.json timings: prepare evidence, fit, predict, evaluate,
# targets) and the bytes of the maps (what a mosaic uploads to object storage).
# Settings (environment):
#   BENCH_CLUSTER_COLS, BENCH_CLUSTER_ROWS  scene size in cells (default 20000 x 20000 =
#       400 M cells, the issue's national scale: hours on a 2-core machine, tens of GB of
#       scene and outputs under benches/out; not run on the shared machine so far)
#   BENCH_CLUSTER_INTERCEPT (-14): the synthetic truth's intercept. `lode synth` draws deposits
#       in proportion to the area; its own default (-6) puts one in 50 cells, 8 M deposits and
#       88 M training rows at 400 M cells, a fit-bound run unlike any survey. At -14 a
#       400 M-cell scene has about 3 k deposits (32 per 4 M cells), the demo's regime.
#   BENCH_CLUSTER_TILES (8), BENCH_CLUSTER_THREADS (2 per task), BENCH_LODE (the binary)
#   BENCH_CLUSTER_SCHEDULER ("batch_sched_delay=0"): the SLURM `SchedulerParameters`. SLURM's
#       default delays a batch job's start by up to 3 s (measured here: 7 dependent tasks of
#       0.5 s took 20.4 s with the default, 8.4 s with this); empty for SLURM's defaults.
#   bash benches/cluster.sh                                                    (400 M cells)
#   BENCH_CLUSTER_COLS=1000 BENCH_CLUSTER_ROWS=1000 bash benches/cluster.sh   (1 M cells)
# Needs: slurmctld slurmd slurm-client munge (make test-deps), GNU time; run as root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LODE="$(realpath "${BENCH_LODE:-$ROOT/target/release/lode}")"
COLS="${BENCH_CLUSTER_COLS:-20000}"
ROWS="${BENCH_CLUSTER_ROWS:-20000}"
TILES="${BENCH_CLUSTER_TILES:-8}"
THREADS="${BENCH_CLUSTER_THREADS:-2}"
INTERCEPT="${BENCH_CLUSTER_INTERCEPT:--14}"
SCHEDULER="${BENCH_CLUSTER_SCHEDULER-batch_sched_delay=0}"
OUT="$ROOT/benches/out/cluster-${COLS}x${ROWS}"
# The scene is kept between runs when it was made from the same `src/synth.rs` with the same
# settings (a 400 M-cell scene takes about a quarter of an hour to generate); everything else
# is redone.
SCENE="$ROOT/benches/out/scene-${COLS}x${ROWS}"
stamp="$(sha256sum "$ROOT/src/synth.rs" | cut -c1-16) $COLS $ROWS $INTERCEPT"
if [ "$(cat "$SCENE/.made-by" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$SCENE"
  "$LODE" -q synth --cols "$COLS" --rows "$ROWS" --intercept="$INTERCEPT" "$SCENE"
  echo "$stamp" > "$SCENE/.made-by"
fi
rm -rf "$OUT"
mkdir -p "$OUT/scene"
chmod 755 "$OUT"

# The scene, with the random forest swapped for logistic (the demo's model) and no CV,
# so that the comparison is prediction-bound as at national scale.
for f in "$SCENE"/*; do ln -s "$f" "$OUT/scene/"; done
rm "$OUT/scene/scene.toml"
cp "$SCENE/scene.toml" "$OUT/scene/scene.toml"
sed -e 's/kind = "random_forest"/kind = "logistic"/' -e '/^\[validation\]/,/^$/d' \
    -e "s|^dir = .*|dir = \"$OUT/single\"|" "$OUT/scene/scene.toml" > "$OUT/scene/single.toml"
sed -e "s|^dir = \"$OUT/single\"|dir = \"$OUT/tiled\"|" "$OUT/scene/single.toml" > "$OUT/scene/tiled.toml"

echo "single process: lode run ($COLS x $ROWS cells, $THREADS threads)"
/usr/bin/time -v "$LODE" -q run "$OUT/scene/single.toml" --threads "$THREADS" 2> "$OUT/single.time"
single_s=$(awk '/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$OUT/single.time")
single_kb=$(awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }' "$OUT/single.time")

# A single-node SLURM on loopback.
S="$OUT/slurm"
mkdir -p "$S/state" "$S/spool" "$S/munge"
chmod 755 "$S" "$S/munge"
chown munge:munge "$S/munge"
pids=()
stop() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
}
trap stop EXIT
setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F --socket="$S/munge/socket" \
  --pid-file="$S/munge/pid" --log-file="$S/munge/log" --seed-file="$S/munge/seed" > "$S/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$S/munge/socket" ] && break; sleep 0.2; done
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
H=$(hostname)
cat > "$S/slurm.conf" <<EOF
ClusterName=lodebench
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$(port)
SlurmdPort=$(port)
AuthType=auth/munge
AuthInfo=socket=$S/munge/socket
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmUser=root
SlurmdUser=root
${SCHEDULER:+SchedulerParameters=$SCHEDULER}
NodeName=$H NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$S/slurm.conf"
slurmctld -D -c -f "$SLURM_CONF" > "$S/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N "$H" -f "$SLURM_CONF" > "$S/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break; sleep 0.2; done

# Every task under GNU time, for its peak RSS.
cat > "$OUT/lode-timed.sh" <<EOF
#!/bin/sh
exec /usr/bin/time -v -o "$OUT/task-\$1-\${SLURM_ARRAY_TASK_ID:-0}-\$SLURM_JOB_ID.time" "$LODE" "\$@"
EOF
chmod 755 "$OUT/lode-timed.sh"
echo "tiled: lode plan --tiles $TILES --engine slurm, $THREADS threads per task"
start=$(date +%s.%N)
/usr/bin/time -v -o "$OUT/task-plan.time" "$LODE" -q plan "$OUT/scene/tiled.toml" --tiles "$TILES" --engine slurm --out "$OUT/run" --threads "$THREADS" \
  --lode "$OUT/lode-timed.sh"
sh "$OUT/run/submit.sh" > /dev/null
while [ -n "$(squeue -h -o %i)" ]; do sleep 1; done
end=$(date +%s.%N)
tiled_s=$(echo "$end - $start" | bc -l)
[ -f "$OUT/tiled/prospectivity.tif" ] || { echo "the tiled run did not finish: see $OUT/run/logs"; exit 1; }

gdal_translate -q -of ENVI "$OUT/single/prospectivity.tif" "$OUT/single.bin"
gdal_translate -q -of ENVI "$OUT/tiled/prospectivity.tif" "$OUT/tiled.bin"
cmp -s "$OUT/single.bin" "$OUT/tiled.bin" && same=yes || same=NO
rm -f "$OUT/single.bin" "$OUT/tiled.bin"

printf 'cells: %d, deposits: %s\n' $((COLS * ROWS)) "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$OUT/scene/deposits.geojson")"
printf 'single lode run:      %8.1f s, peak RSS %7.1f MiB\n' "$single_s" "$(echo "$single_kb / 1024" | bc -l)"
printf 'tiled (%d tiles):      %8.1f s wall from submission to the mosaic, overhead %+.1f %%\n' "$TILES" "$tiled_s" \
  "$(echo "($tiled_s / $single_s - 1) * 100" | bc -l)"
work=0
for f in "$OUT"/task-*.time; do
  kb=$(awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }' "$f")
  wall=$(awk '/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$f")
  work=$(echo "$work + $wall" | bc -l)
  printf '  %-40s peak RSS %7.1f MiB, wall %8.2f s\n' "$(basename "$f" .time)" "$(echo "$kb / 1024" | bc -l)" "$wall"
done
# Tasks of all the node's CPUs run one at a time here: the rest of the wall time is the
# scheduler's (the gaps between one task's end and the next one's start).
printf "tasks' own work:      %8.1f s in all (overhead %+.1f %%); the scheduler's gaps between them: %.1f s\n" \
  "$work" "$(echo "($work / $single_s - 1) * 100" | bc -l)" "$(echo "$tiled_s - $work" | bc -l)"
echo "prospectivity.tif decoded identical: $same"
for r in single tiled; do
  printf '%-8s steps (s): ' "$r"
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(", ".join("%s %.1f" % (k, v) for k, v in m["timings_s"]))' \
    "$OUT/$r/metrics.json"
done
printf 'map bytes: prospectivity.tif %d, uncertainty.tif %d; tile rasters %d in total\n' \
  "$(stat -c %s "$OUT/tiled/prospectivity.tif")" "$(stat -c %s "$OUT/tiled/uncertainty.tif" 2>/dev/null || echo 0)" \
  "$(du -cb "$OUT"/run/tiles/*/*.tif | tail -1 | cut -f1)"
