#!/usr/bin/env bash
# bench/seed.sh [server...] -- side-by-side benchmark of ssechat against the 2012 seed's servers.
#
# Runs the seed's own bench.sh (unchanged, from the seed reference folder) against every server in
# ONE invocation, so all figures come from the same machine state and can be compared as ratios.
#   servers (default, in this order): php c node-http node-net ssechat
#   env: N=10000 REPS=3 WRKDUR=5s (passed to bench.sh), SEED_REF (default $ROOT/../shared/seed-reference),
#        PORT_BASE=18701, LOADCPU=1, SERVER_TIMEOUT=900 (s, whole bench.sh per server),
#        RESULTS_DIR=bench/results, SSECHAT_BIN (default $ROOT/bin/ssechat.js)
# Writes RESULTS_DIR/<YYYY-MM-DD>-seed.{txt,json,md}; prints the markdown table.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SEED_REF=${SEED_REF:-$ROOT/../shared/seed-reference}
export N=${N:-10000} REPS=${REPS:-3} WRKDUR=${WRKDUR:-5s} LOADCPU=${LOADCPU:-1}
PORT_BASE=${PORT_BASE:-18701}
SERVER_TIMEOUT=${SERVER_TIMEOUT:-900}
PHP=${PHP:-php8.2}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
DAY=$(date +%F)
OUT_TXT=$RESULTS_DIR/$DAY-seed.txt

ALL=(php c node-http node-net ssechat)
WHICH=("$@"); [ ${#WHICH[@]} -eq 0 ] && WHICH=("${ALL[@]}")

die() { echo "bench/seed.sh: $*" >&2; exit 1; }

# ---- preflight: fail clearly instead of half-running -------------------------------------------
for w in "${WHICH[@]}"; do
  case " ${ALL[*]} " in *" $w "*) ;; *) die "unknown server '$w' (choose from: ${ALL[*]})" ;; esac
done
[ -r "$SEED_REF/bench.sh" ] || die "seed reference not found at $SEED_REF (set SEED_REF=/path/to/seed-reference)"
need=(node ab wrk curl taskset flock timeout)
[[ " ${WHICH[*]} " == *" php "* ]] && need+=("$PHP")
[[ " ${WHICH[*]} " == *" c "* ]] && need+=(gcc)
missing=()
for t in "${need[@]}"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  die "missing tools: ${missing[*]}
  install them with: apt-get install -y php8.2-cli apache2-utils wrk curl
  (gcc: apt-get install -y gcc; taskset/flock: util-linux; timeout: coreutils)"
fi
# Server runs on CPU 0, load generator on CPU $LOADCPU: both must exist or the numbers mean nothing.
taskset -c "0,$LOADCPU" true 2>/dev/null || die "need CPUs 0 and $LOADCPU for pinning (this machine: $(nproc) CPUs)"

# ---- cleanup: every process and temp dir we start goes away on exit, error or ctrl-c ------------
WORK=$(mktemp -d /tmp/ssechat-seedbench.XXXXXX)
SERVER_PID="" BENCH_PID=""
tree() { local c; echo "$1"; for c in $(ps -o pid= --ppid "$1"); do tree "$c"; done; }
stop_pid() {   # TERM a process and all its descendants, 5 s grace, then KILL; never waits unbounded.
  # The whole tree, because bench.sh runs ab/wrk under its own `timeout`, in a process group of
  # their own that a group signal would miss. Each process gets ONE TERM: a 2nd one would kill
  # bench.sh in the middle of its EXIT trap and leave its /tmp/seedbench.* dir behind.
  local p=$1 pids i
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  pids=$(tree "$p")
  kill -TERM $pids 2>/dev/null
  for i in $(seq 50); do kill -0 $pids 2>/dev/null || break; sleep 0.1; done
  kill -KILL $pids 2>/dev/null
  wait "$p" 2>/dev/null
  return 0
}
cleanup() {
  stop_pid "$BENCH_PID"; stop_pid "$SERVER_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM HUP

# ---- build -------------------------------------------------------------------------------------
ensure_dist() {   # build if dist/ is missing; a concurrent `npm run build` (rm -rf dist && tsc) gets 30 s
  local i
  for i in $(seq 60); do [ -f "$ROOT/dist/src/main.js" ] && return 0; [ "$1" = wait ] || break; sleep 0.5; done
  (cd "$ROOT" && npm run build) >&2 || die "npm run build failed"
}
[[ " ${WHICH[*]} " == *" ssechat "* ]] && ensure_dist nowait
if [[ " ${WHICH[*]} " == *" c "* ]]; then
  gcc -O2 -o "$WORK/server.bin" "$SEED_REF/server.c" || die "gcc failed on $SEED_REF/server.c"
fi

declare -A PORT CMD
i=0
for w in "${ALL[@]}"; do PORT[$w]=$((PORT_BASE + i)); i=$((i + 1)); done
CMD[php]="$PHP $SEED_REF/server.php ${PORT[php]}"
CMD[c]="$WORK/server.bin ${PORT[c]}"
CMD[node-http]="node $SEED_REF/test.js ${PORT[node-http]}"
CMD[node-net]="node $SEED_REF/test2.js ${PORT[node-net]}"
# Persistence ON (the default sqlite store) in a fresh dir, so msg numbers include the writes.
# The flood guards are off: the benchmark is one client sending as fast as it can, which the
# default limits (README, Configuration) would answer with 429s. The list is bench/lib/server.mjs's,
# as every other scenario passes it; SSECHAT_BIN runs another build (as there).
NO_RATE_LIMITS=$(node --input-type=module -e "
  const { NO_RATE_LIMITS } = await import('$ROOT/bench/lib/server.mjs');
  console.log(NO_RATE_LIMITS.join(' '));") || die "cannot read NO_RATE_LIMITS from bench/lib/server.mjs"
CMD[ssechat]="node ${SSECHAT_BIN:-$ROOT/bin/ssechat.js} --host 127.0.0.1 --port ${PORT[ssechat]} --data-dir $WORK/ssechat-data --log-level warn $NO_RATE_LIMITS"

mkdir -p "$RESULTS_DIR"
: > "$OUT_TXT"
say() { echo "$*" | tee -a "$OUT_TXT"; }   # progress to terminal and raw file

say "### ssechat seed benchmark $(date -Is) on $(hostname): $(nproc) cpus,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
say "### command: N=$N REPS=$REPS WRKDUR=$WRKDUR bash bench/seed.sh ${WHICH[*]}"
say "### ssechat commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty)')"
say "### versions: node $(node -v)$([[ " ${WHICH[*]} " == *" php "* ]] && echo ", php $($PHP -r 'echo PHP_VERSION;')"), ab $(ab -V | grep -o 'Version [0-9.]*' | cut -d' ' -f2), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
say "### server pinned: taskset -c 0 ; ab/wrk/curl receiver pinned: taskset -c $LOADCPU ; seed ref: $SEED_REF"

FAILED=()
for w in "${WHICH[@]}"; do
  port=${PORT[$w]}
  url=http://127.0.0.1:$port
  # Something already on the port would be benchmarked in place of our server: refuse.
  if curl -s -o /dev/null -m 1 "$url/"; then
    say "################ $w FAILED: port $port already in use"; FAILED+=("$w"); continue
  fi
  log=$WORK/$w.log
  rm -rf "$WORK/ssechat-data"
  # dist/ may have been removed by a rebuild while the other servers ran.
  [ "$w" = ssechat ] && ensure_dist wait
  # shellcheck disable=SC2086  # CMD is a plain word list on purpose
  taskset -c 0 ${CMD[$w]} > "$log" 2>&1 &
  SERVER_PID=$!   # taskset execs the server, so this is the server's own pid
  up=0
  for _ in $(seq 50); do   # wait up to ~5 s for GET / to answer
    kill -0 "$SERVER_PID" 2>/dev/null || break
    if curl -s -o /dev/null -m 1 "$url/"; then up=1; break; fi
    sleep 0.1
  done
  if [ $up = 0 ]; then
    say "################ $w FAILED: did not answer GET $url/ within 5 s; log:"
    tail -20 "$log" | tee -a "$OUT_TXT"
    stop_pid "$SERVER_PID"; SERVER_PID=""; FAILED+=("$w"); continue
  fi
  say ""
  say "################ $w: ${CMD[$w]} (pid $SERVER_PID, port $port)"
  # In the background with a polling deadline rather than under `timeout`: ctrl-c is handled within
  # 0.2 s (bash defers traps while a foreground child runs), and on expiry stop_pid reaches the
  # whole tree (a `timeout` would signal only its own process group, not bench.sh's inner ones).
  bash "$SEED_REF/bench.sh" "$url" "$SERVER_PID" >> "$OUT_TXT" 2>&1 &
  BENCH_PID=$!
  deadline=$((SECONDS + SERVER_TIMEOUT)) timed_out=0
  while kill -0 "$BENCH_PID" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && { timed_out=1; stop_pid "$BENCH_PID"; break; }
    sleep 0.2
  done
  wait "$BENCH_PID"; rc=$?; BENCH_PID=""
  sed -n '/===== SUMMARY/,$p' "$OUT_TXT" | tail -11
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    say "################ $w FAILED: server exited during the benchmark; log:"; tail -20 "$log" | tee -a "$OUT_TXT"
    FAILED+=("$w")
  elif [ $rc != 0 ]; then
    say "################ $w FAILED: bench.sh rc=$rc$([ $timed_out = 1 ] && echo " (stopped after SERVER_TIMEOUT=${SERVER_TIMEOUT}s)")"
    FAILED+=("$w")
  fi
  stop_pid "$SERVER_PID"; SERVER_PID=""
  say "################ end $w"
done

say ""
say "raw output: $OUT_TXT"
node "$ROOT/bench/seed-report.mjs" "$OUT_TXT" || die "report failed"
[ ${#FAILED[@]} -eq 0 ] || die "failed servers: ${FAILED[*]} (see $OUT_TXT)"
