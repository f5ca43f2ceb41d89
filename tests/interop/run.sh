#!/usr/bin/env bash
# Interoperability check: a Python peer written from the seed's wire facts
# (seed_peer.py) completes the RFMP v1.0 handshake, exchanges a message in
# frames and closes with End, with the rfmp binary in both directions, for
# each session cipher none, caesar and aes.
#
#   (a) rfmp server      <-  seed_peer.py client
#   (b) seed_peer.py server  <-  rfmp client
#
# Usage: tests/interop/run.sh path/to/rfmp
# Needs python3 with pycryptodome (python3 -m pip install pycryptodome).
set -euo pipefail

RFMP=${1:?usage: $0 path/to/rfmp}
if [[ ! -x "$RFMP" ]]; then
    echo "not an executable: $RFMP" >&2
    exit 1
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEER="$HERE/seed_peer.py"
DEADLINE_SECONDS=20   # hard limit for every "wait until ready" poll
POLL_INTERVAL=0.1     # how often to look again while polling

WORK=$(mktemp -d)
# Each peer server makes a fresh key on a fresh port: remember them in a
# file of this run only, not in the user's ~/.rfmp/known-servers.
export RFMP_KNOWN_SERVERS="$WORK/known-servers"
BACKGROUND_PIDS=()

# Always stop what we started in the background, and remove the temp dir.
cleanup() {
    local pid
    for pid in "${BACKGROUND_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# A free TCP port on 127.0.0.1: bind port 0 and let the OS choose.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Wait until 127.0.0.1:$1 accepts connections, while process $2 is alive.
wait_for_port() {
    local port=$1 pid=$2 start=$SECONDS
    while (( SECONDS - start < DEADLINE_SECONDS )); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "    the server (pid $pid) exited before listening on port $port"
            return 1
        fi
        if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()' "$port" 2>/dev/null; then
            return 0
        fi
        sleep "$POLL_INTERVAL"
    done
    echo "    port $port did not accept connections within ${DEADLINE_SECONDS} s"
    return 1
}

# Wait until file $1 exists and is not empty, while process $2 is alive.
wait_for_file() {
    local file=$1 pid=$2 start=$SECONDS
    while (( SECONDS - start < DEADLINE_SECONDS )); do
        if [[ -s "$file" ]]; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "    the peer (pid $pid) exited before writing $file"
            return 1
        fi
        sleep "$POLL_INTERVAL"
    done
    echo "    $file did not appear within ${DEADLINE_SECONDS} s"
    return 1
}

# Stop one background process we started, by its id.
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# (a) rfmp server, seed_peer.py client. $1: none, caesar or aes.
check_rust_server() {
    local cipher=$1 port pid log=$WORK/rfmp-server-$1.log
    port=$(free_port) || return 1
    "$RFMP" server --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
    pid=$!
    BACKGROUND_PIDS+=("$pid")
    if ! wait_for_port "$port" "$pid"; then
        sed 's/^/    rfmp server: /' "$log"
        stop "$pid"
        return 1
    fi
    local out rc=0
    out=$(python3 "$PEER" client --port "$port" --cipher "$cipher" \
        --message "hello from the seed peer ($cipher)" 2>&1) || rc=$?
    stop "$pid"
    echo "    $out"
    if (( rc != 0 )) || [[ "$out" != ok:* ]]; then
        echo "    seed_peer.py client exited $rc"
        sed 's/^/    rfmp server: /' "$log"
        return 1
    fi
}

# (b) seed_peer.py server, rfmp client. $1: none, caesar or aes.
check_rust_client() {
    local cipher=$1 pid port_file=$WORK/port-$1 peer_log=$WORK/peer-server-$1.log
    python3 "$PEER" server --port-file "$port_file" --cipher-expected "$cipher" >"$peer_log" 2>&1 &
    pid=$!
    BACKGROUND_PIDS+=("$pid")
    if ! wait_for_file "$port_file" "$pid"; then
        sed 's/^/    seed_peer.py server: /' "$peer_log"
        stop "$pid"
        return 1
    fi
    local port
    port=$(<"$port_file")

    # --link-check: the peer speaks steps 1-17 and echoes; it has no chat.
    local args=(client --link-check --host 127.0.0.1 --port "$port")
    if [[ "$cipher" == none ]]; then
        args+=(--secure 0)
    else
        args+=(--secure 1 --cipher "$cipher")
    fi
    local out rc=0
    out=$(printf 'hello from rfmp\n' | "$RFMP" "${args[@]}" 2>"$WORK/rfmp-client-$cipher.err") || rc=$?

    echo "    rfmp client: $out"
    if (( rc != 0 )) || [[ "$out" != *"echo: hello from rfmp"* ]]; then
        echo "    rfmp client exited $rc; its stderr:"
        sed 's/^/      /' "$WORK/rfmp-client-$cipher.err"
        stop "$pid"   # the peer may still be waiting for a client
        sed 's/^/    seed_peer.py server: /' "$peer_log"
        return 1
    fi
    # The client sent its End frame, so the peer must now finish on its own.
    local peer_rc=0
    wait "$pid" || peer_rc=$?
    echo "    $(cat "$peer_log")"
    if (( peer_rc != 0 )); then
        echo "    seed_peer.py server exited $peer_rc"
        return 1
    fi
}

passed=0
failed=0
failures=()
for cipher in none caesar aes; do
    for direction in rust_server rust_client; do
        if [[ $direction == rust_server ]]; then
            name="rfmp server <- seed_peer.py client, cipher $cipher"
        else
            name="seed_peer.py server <- rfmp client, cipher $cipher"
        fi
        echo "check: $name"
        if "check_$direction" "$cipher"; then
            passed=$((passed + 1))
            echo "  PASS"
        else
            failed=$((failed + 1))
            failures+=("$name")
            echo "  FAIL"
        fi
    done
done

if (( failed > 0 )); then
    echo "failed:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
(( failed == 0 ))
