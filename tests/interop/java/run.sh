#!/usr/bin/env bash
# Interop run: the Java RFMP peer (RfmpClient.java, RfmpServer.java), written from the lessons
# alone with the JDK alone, against the reference binary.
#
# Usage: tests/interop/java/run.sh path/to/rfmp       (needs Java 17 or later)
# Loopback only; ports from the OS (--port 0); synchronisation by waiting for "listening" lines.
# Exits non-zero on any failure.
set -u
RFMP=$(realpath "${1:?usage: $0 path/to/rfmp}")
cd "$(dirname "$0")"
VECTORS=$(realpath ../../../vectors)
W=$(mktemp -d /tmp/rfmp-java-run.XXXXXX)
J=$W/java   # the assembled programs (gen.sh)
export HOME=$W/home RFMP_KNOWN_SERVERS=$W/known-servers   # keep rfmp client's files out of the real home
mkdir -p "$HOME"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
FAILS=0; PASSES=0
ok()   { echo "PASS  $*"; PASSES=$((PASSES+1)); }
bad()  { echo "FAIL  $*"; FAILS=$((FAILS+1)); }

# wait_for FILE REGEX: wait (up to 60 s) until a line of FILE matches; print the match
wait_for() {
  local i
  for i in $(seq 1 600); do
    if grep -qE "$2" "$1" 2>/dev/null; then grep -oE "$2" "$1" | head -1; return 0; fi
    sleep 0.1
  done
  return 1
}
port_of() { grep -oE '127\.0\.0\.1:[0-9]+' <<<"$1" | head -1 | cut -d: -f2; }

echo "== 0. offline: RFC 4493, the EAX paper, vectors/*.json"
./gen.sh "$J"

if java "$J/VectorTest.java" "$VECTORS"; then ok "vectors"; else bad "vectors"; fi

echo "== 1. RfmpClient.java -> rfmp server (none, caesar, aes)"
"$RFMP" server --port 0 --data-dir "$W/data" --receive-dir "$W/recv" >"$W/rs.out" 2>"$W/rs.err" &
PIDS+=($!)
L=$(wait_for "$W/rs.err" 'listening on 127\.0\.0\.1:[0-9]+') || { bad "rfmp server did not start"; cat "$W/rs.err"; exit 1; }
RP=$(port_of "$L"); echo "rfmp server on port $RP"
for m in none caesar aes; do
  if java "$J/RfmpClient.java" --port "$RP" --mode "$m" --user "java_$m" --password 'correct horse battery' \
       --room study --text "hello from Java over $m" >"$W/c-$m.out" 2>&1; then
    ok "client $m: $(grep -c . "$W/c-$m.out") lines, $(grep 'the room echoed' "$W/c-$m.out")"
  else bad "client $m"; cat "$W/c-$m.out"; fi
done

echo "== 1b. RfmpClient.java -> rfmp server with faults (--corrupt-rate 0.2 --drop-rate 0.1 --fault-seed 7)"
"$RFMP" server --port 0 --data-dir "$W/data2" --receive-dir "$W/recv" --corrupt-rate 0.2 --drop-rate 0.1 --fault-seed 7 >"$W/rs2.out" 2>"$W/rs2.err" &
PIDS+=($!)
L=$(wait_for "$W/rs2.err" 'listening on 127\.0\.0\.1:[0-9]+') || { bad "faulty rfmp server did not start"; exit 1; }
RP2=$(port_of "$L")
BIG=$(head -c 3000 /dev/zero | tr '\0' x)
for m in none caesar aes; do
  if java "$J/RfmpClient.java" --port "$RP2" --mode "$m" --user "lossy_$m" --password 'correct horse battery' \
       --room lossy --text "3000 bytes, 5 fragments: $BIG" >"$W/cf-$m.out" 2>&1; then
    ok "client $m over a lossy link"
  else bad "client $m over a lossy link"; cat "$W/cf-$m.out"; fi
done

echo "== 1c. the same, lossy both ways: RfmpClient.java --drop-rate 0.1 --corrupt-rate 0.2 as well"
for m in none caesar aes; do
  if java "$J/RfmpClient.java" --port "$RP2" --mode "$m" --user "lossy_$m" --password 'correct horse battery' \
       --room lossy2 --text "both ways: $BIG" --drop-rate 0.1 --corrupt-rate 0.2 >"$W/cff-$m.out" 2>&1; then
    ok "client $m, lossy both ways"
  else bad "client $m, lossy both ways"; cat "$W/cff-$m.out"; fi
done

echo "== 2. rfmp client -> RfmpServer.java (none, caesar, aes; chat and --link-check)"
"$RFMP" keygen "$W/server.pem" >/dev/null
java "$J/RfmpServer.java" --port 0 --key "$W/server.pem" >"$W/js.out" 2>"$W/js.err" &
PIDS+=($!)
L=$(wait_for "$W/js.out" 'listening on 127\.0\.0\.1:[0-9]+') || { bad "RfmpServer.java did not start"; cat "$W/js.err"; exit 1; }
JP=$(port_of "$L"); FP=$(grep -oE 'SHA256:[A-Za-z0-9+/]+' "$W/js.out" | head -1)
echo "RfmpServer.java on port $JP, key $FP"
for sc in "0 aes none" "1 caesar caesar" "1 aes aes"; do
  set -- $sc
  if printf 'hello from rfmp client\nline two\n' | RFMP_PASSWORD='correct horse battery' \
       "$RFMP" client --port "$JP" --secure "$1" --cipher "$2" --user "rust_$3" >"$W/rc-$3.out" 2>&1 \
     && grep -q '#lobby rust_'"$3"': line two' "$W/rc-$3.out" && grep -q 'bye' "$W/rc-$3.out" \
     && { [ "$1" = 0 ] || grep -q "server key fingerprint $FP" "$W/rc-$3.out"; }; then
    ok "rfmp client $3 (chat): $(grep -c '#lobby' "$W/rc-$3.out") room lines, bye"
  else bad "rfmp client $3 (chat)"; cat "$W/rc-$3.out"; fi
  if printf 'ping %s\n' "$3" | "$RFMP" client --port "$JP" --secure "$1" --cipher "$2" --link-check >"$W/rl-$3.out" 2>&1 \
     && grep -q "echo: ping $3" "$W/rl-$3.out"; then
    ok "rfmp client $3 (--link-check)"
  else bad "rfmp client $3 (--link-check)"; cat "$W/rl-$3.out"; fi
  if printf 'lossy %s\n' "$3" | "$RFMP" client --port "$JP" --secure "$1" --cipher "$2" --link-check \
       --corrupt-rate 0.2 --drop-rate 0.1 --fault-seed 7 >"$W/rlf-$3.out" 2>&1 \
     && grep -q "echo: lossy $3" "$W/rlf-$3.out"; then
    ok "rfmp client $3 (--link-check, lossy)"
  else bad "rfmp client $3 (--link-check, lossy)"; cat "$W/rlf-$3.out"; fi
done

echo "== 2b. rfmp client (faults) -> RfmpServer.java --drop-rate 0.1 --corrupt-rate 0.2 (lossy both ways)"
java "$J/RfmpServer.java" --port 0 --drop-rate 0.1 --corrupt-rate 0.2 >"$W/js2.out" 2>"$W/js2.err" &
PIDS+=($!)
L=$(wait_for "$W/js2.out" 'listening on 127\.0\.0\.1:[0-9]+') || { bad "lossy RfmpServer.java did not start"; exit 1; }
JP2=$(port_of "$L")
for sc in "0 aes none" "1 caesar caesar" "1 aes aes"; do
  set -- $sc
  if printf 'lossy hello\n%s\n' "$BIG" | RFMP_PASSWORD='correct horse battery' "$RFMP" client --port "$JP2" --secure "$1" \
       --cipher "$2" --user "lossy_$3" --corrupt-rate 0.2 --drop-rate 0.1 --fault-seed 3 >"$W/rcf-$3.out" 2>&1 \
     && [ "$(grep -c "#lobby lossy_$3: " "$W/rcf-$3.out")" = 2 ] && grep -q bye "$W/rcf-$3.out"; then
    ok "rfmp client $3 (chat), lossy both ways"
  else bad "rfmp client $3 (chat), lossy both ways"; cat "$W/rcf-$3.out"; fi
done

echo "== 3. rfmp check server -> RfmpServer.java"
if "$RFMP" check server "127.0.0.1:$JP" >"$W/check-server.out" 2>&1; then ok "rfmp check server"; else bad "rfmp check server"; fi
grep -E '^(✗|failed)|passed,' "$W/check-server.out"; grep -q '^✗' "$W/check-server.out" && cat "$W/check-server.out"

echo "== 4. rfmp check client <- RfmpClient.java --link-check (none, caesar, aes)"
"$RFMP" check client --port 0 --clients 3 >"$W/check-client.out" 2>&1 &
CPID=$!; PIDS+=($CPID)
L=$(wait_for "$W/check-client.out" 'waiting for clients on 127\.0\.0\.1:[0-9]+') || { bad "rfmp check client did not start"; exit 1; }
CP=$(port_of "$L")
for m in none caesar aes; do
  java "$J/RfmpClient.java" --port "$CP" --mode "$m" --link-check >"$W/cc-$m.out" 2>&1 || { echo "(client $m exit status $?)"; cat "$W/cc-$m.out"; }
done
if wait "$CPID"; then ok "rfmp check client"; else bad "rfmp check client"; cat "$W/check-client.out"; fi
grep -E '^rfmp check client|passed,|skipped' "$W/check-client.out"

echo
echo "$PASSES passed, $FAILS failed (logs in $W)"
[ "$FAILS" = 0 ]
