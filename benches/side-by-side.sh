#!/usr/bin/env bash
# rfmp next to ngircd (a C IRC server, the Debian package), same load, same
# machine, loopback only: the figures of the README's "Measured" section.
#
#   benches/side-by-side.sh
#
# It builds rfmp (release), installs ngircd if it is missing, starts both
# servers on free ports of 127.0.0.1 with their data in a temporary
# directory, runs the load generator (benches/load.rs) against each with the
# same numbers, prints one table with both figures and their ratio, and
# stops both servers however it ends. Each load run is cut off after
# RUN_LIMIT seconds, so the whole takes a few minutes at most.
#
# The numbers can be changed from the environment, e.g.
#   SMALL=20 LARGE=100 MESSAGES=100 benches/side-by-side.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SMALL=${SMALL:-50}           # members of the small fan-out room
LARGE=${LARGE:-200}          # members of the large fan-out room
MESSAGES=${MESSAGES:-1000}   # messages the sender says in each room
SIZE=${SIZE:-100}            # bytes of text in each message
PAIRS=${PAIRS:-1000}         # 1:1 messages, one at a time
IDLE=${IDLE:-200}            # idle logged-in members
HANDSHAKES=${HANDSHAKES:-100} # rfmp handshakes in a row
RUN_LIMIT=${RUN_LIMIT:-120}  # seconds one load run may take
RATE=${RATE:-}               # fan-out deliveries/s to pace to; empty: unpaced
PACING=()
[ -z "$RATE" ] || PACING=(--rate "$RATE")

fail() {
    echo "side-by-side: $*" >&2
    exit 1
}

for tool in cargo timeout awk getconf; do
    command -v "$tool" >/dev/null || fail "$tool is missing (needed to build and run the load)"
done

# ngircd: the Debian package. Installing needs root (apt-get).
NGIRCD=$(command -v ngircd || true)
[ -n "$NGIRCD" ] || NGIRCD=$([ -x /usr/sbin/ngircd ] && echo /usr/sbin/ngircd || true)
if [ -z "$NGIRCD" ]; then
    command -v apt-get >/dev/null || fail "ngircd is missing and there is no apt-get to install it"
    [ "$(id -u)" = 0 ] || fail "ngircd is missing; install it (apt-get install ngircd) or run as root"
    echo "installing ngircd (apt-get)..."
    apt-get install -y ngircd >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y ngircd >/dev/null; } ||
        fail "apt-get could not install ngircd"
    NGIRCD=$(command -v ngircd || echo /usr/sbin/ngircd)
    [ -x "$NGIRCD" ] || fail "ngircd installed, but no ngircd program found"
fi

echo "building rfmp and the load generator (release)..."
cargo build --release --quiet
cargo bench --bench load --quiet -- check

WORK=$(mktemp -d)
PIDS=()
stop_servers() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

# A port of 127.0.0.1 where nothing listens now.
free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    fail "no free port found on 127.0.0.1"
}

# Wait (10 s at most) until something listens on 127.0.0.1:$1.
await_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
        sleep 0.1
    done
    fail "$2 did not listen on 127.0.0.1:$1 within 10 s (its log: $3)"
}

IRC_PORT=$(free_port)
# ngircd's configuration (see `man ngircd.conf`): everything that would
# make it slower or stricter than rfmp for reasons other than the work of
# relaying is turned off, so the comparison is of the relaying itself.
cat >"$WORK/ngircd.conf" <<EOF
[Global]
    # The server's name in the IRC network (it must contain a dot; it is
    # not looked up anywhere).
    Name = bench.rfmp.invalid
    Info = rfmp side-by-side benchmark
    # Only loopback, on a free port.
    Listen = 127.0.0.1
    Ports = $IRC_PORT
    # A one-line message of the day instead of a file.
    MotdPhrase = "benchmark"

[Limits]
    # No limit on connections in all (0), nor from one address (every
    # client comes from 127.0.0.1; the default is 5).
    MaxConnections = 0
    MaxConnectionsIP = 0
    # No limit on channels per user.
    MaxJoins = 0
    # Penalties off (0): no flood throttling of a client that sends many
    # lines quickly (our sender).
    MaxPenaltyTime = 0
    # Do not PING idle clients during a run.
    PingTimeout = 600
    PongTimeout = 60

[Options]
    # No reverse DNS lookup, no IDENT query and no PAM authentication of
    # each new client: rfmp does none of these.
    DNS = no
    Ident = no
    PAM = no
    # No PING before registration completes.
    RequireAuthPing = no
EOF
"$NGIRCD" -n -f "$WORK/ngircd.conf" >"$WORK/ngircd.log" 2>&1 &
IRC_PID=$!
PIDS+=("$IRC_PID")

RFMP_PORT=$(free_port)
# The committed TEST-ONLY key (no key generation at start), in a private
# copy readable by its owner only: rfmp, like OpenSSH, refuses a private
# key others can read, and git checks files out readable by everyone.
# The limits meant for clients from many addresses are lifted, since every
# load client comes from 127.0.0.1: new accounts a minute, connections not
# logged in yet. Accounts in the temporary directory; warnings only in its
# log.
install -m 600 tests/keys/TEST-ONLY-server-key.pem "$WORK/server-key.pem"
RUST_LOG=warn target/release/rfmp server --host 127.0.0.1 --port "$RFMP_PORT" \
    --key "$WORK/server-key.pem" --max-clients 512 \
    --new-accounts-per-minute 100000 --max-unauthenticated 1024 \
    --max-unauthenticated-per-address 1024 --early-refusal-from 1024 \
    --data-dir "$WORK/rfmp-data" --receive-dir "$WORK/rfmp-received" \
    >"$WORK/rfmp.log" 2>&1 &
RFMP_PID=$!
PIDS+=("$RFMP_PID")

await_port "$IRC_PORT" ngircd "$WORK/ngircd.log"
await_port "$RFMP_PORT" "rfmp server" "$WORK/rfmp.log"
echo "ngircd $("$NGIRCD" --version | head -1 | cut -d' ' -f2) on 127.0.0.1:$IRC_PORT (pid $IRC_PID)," \
    "rfmp on 127.0.0.1:$RFMP_PORT (pid $RFMP_PID), $(getconf _NPROCESSORS_ONLN) cores"

# load TARGET PORT PID SCENARIO [options]: run the load generator, show its
# output, and keep its `result` line in $WORK/TARGET-NAME.
load() {
    local target=$1 port=$2 pid=$3 scenario=$4 name=$5
    shift 5
    echo
    echo "== $target $name"
    timeout "$RUN_LIMIT" cargo bench --bench load --quiet -- \
        "$target" "127.0.0.1:$port" "$scenario" --pid "$pid" "$@" | tee "$WORK/out" ||
        fail "the load run '$target $name' failed or took over $RUN_LIMIT s"
    grep '^result ' "$WORK/out" >"$WORK/$target-$name" || fail "no result from '$target $name'"
}

for target in irc rfmp; do
    if [ "$target" = irc ]; then port=$IRC_PORT pid=$IRC_PID; else port=$RFMP_PORT pid=$RFMP_PID; fi
    load "$target" "$port" "$pid" fanout fanout-small --members "$SMALL" --messages "$MESSAGES" --size "$SIZE" "${PACING[@]}"
    load "$target" "$port" "$pid" fanout fanout-large --members "$LARGE" --messages "$MESSAGES" --size "$SIZE" "${PACING[@]}"
    load "$target" "$port" "$pid" pair pair --messages "$PAIRS" --size "$SIZE"
    load "$target" "$port" "$pid" idle idle --members "$IDLE"
done
load rfmp "$RFMP_PORT" "$RFMP_PID" handshakes handshakes --messages "$HANDSHAKES"

# get NAME KEY TARGET: the value of KEY in the result line of run NAME.
get() {
    tr ' ' '\n' <"$WORK/$3-$1" | awk -F= -v key="$2" '$1 == key { print $2 }'
}

# row LABEL NAME KEY: one line of the table, rfmp / ngircd as the ratio.
row() {
    local irc rfmp
    irc=$(get "$2" "$3" irc)
    rfmp=$(get "$2" "$3" rfmp)
    awk -v label="$1" -v irc="$irc" -v rfmp="$rfmp" 'BEGIN {
        ratio = "-"
        if (irc + 0 != 0) ratio = sprintf(rfmp / irc >= 100 ? "%.0fx" : "%.3gx", rfmp / irc)
        printf "| %-58s | %12s | %12s | %7s |\n", label, irc, rfmp, ratio
    }'
}

echo
PACED=unpaced
[ -z "$RATE" ] || PACED="paced to $RATE deliveries/s"
echo "Side by side, 127.0.0.1, $(getconf _NPROCESSORS_ONLN) cores, $SIZE-byte messages," \
    "$MESSAGES messages per fan-out, $PACED ($(date -u +%Y-%m-%d)):"
echo
printf "| %-58s | %12s | %12s | %7s |\n" "what" "ngircd" "rfmp" "rfmp/ngircd"
printf "|%s|%s|%s|%s|\n" "$(printf -- '-%.0s' {1..60})" "--------------" "--------------" "---------"
for size in small large; do
    members=$([ $size = small ] && echo "$SMALL" || echo "$LARGE")
    row "fanout $members members: deliveries/s" "fanout-$size" deliveries_per_s
    row "fanout $members members: latency p50 (us)" "fanout-$size" p50_us
    row "fanout $members members: latency p99 (us)" "fanout-$size" p99_us
    row "fanout $members members: server CPU/delivery (us)" "fanout-$size" server_cpu_us_per_delivery
    row "fanout $members members: lost messages" "fanout-$size" lost
    row "fanout $members members: order violations" "fanout-$size" order_violations
    row "fanout $members members: server RSS per login (KiB)" "fanout-$size" rss_per_client_kib
done
row "pair (1:1) latency p50 (us)" pair p50_us
row "pair (1:1) latency p99 (us)" pair p99_us
row "pair (1:1) latency max (us)" pair max_us
row "idle $IDLE members: server RSS per client (KiB)" idle rss_per_client_kib
row "idle $IDLE members: server threads per client" idle threads_per_client
row "idle $IDLE members: server RSS (KiB)" idle server_rss_kib
echo
echo "rfmp handshakes: $(get handshakes handshakes_per_s rfmp)/s, server CPU" \
    "$(get handshakes server_cpu_us_per_handshake rfmp) us each;" \
    "one RSA-2048 OAEP decryption: $(get handshakes rsa_decrypt_us rfmp) us"
