#!/usr/bin/env bash
# Check the exercises themselves (exercises/README.md), as CI does:
#   1. with --features solutions, every reference solution passes its
#      exercise's tests (and the tests of the two files are the same);
#   2. as shipped, every exercise compiles and its tests fail, each
#      exercise run alone, so one unfinished exercise cannot hide another.
# Prints a line per check and closes with "N passed, N failed", where
# "passed" counts the checks that behaved as required. Exits non-zero if
# any check did not.
set -euo pipefail
cd "$(dirname "$0")/.."

# In the order of the flow: the module names, which are also the filters of
# the learner's commands (cargo test -p rfmp-exercises <name>).
exercises=(
  start_packet
  is_secure
  cc_packet
  man_in_the_middle
  ec_packet
  crack_caesar
  corrupted_frame
  receive_window
  envelope
  replay
)

passed=0
failed=0
log_dir=target/exercises-check
mkdir -p "$log_dir"

pass() {
  passed=$((passed + 1))
  printf 'ok    %s\n' "$1"
}

fail() {
  failed=$((failed + 1))
  printf 'FAIL  %s\n' "$1"
}

# How many tests of module $2 the cargo test output in file $1 reports as
# $3 (ok or FAILED).
count() {
  grep -cE "^test $2::[a-z0-9_:]+ \.\.\. $3\$" "$1" || true
}

# 1. The solutions: one run of the whole crate with the feature.
solutions_log=$log_dir/solutions.log
if cargo test -p rfmp-exercises --features solutions --locked >"$solutions_log" 2>&1; then
  pass "solutions: cargo test -p rfmp-exercises --features solutions passes"
else
  fail "solutions: cargo test -p rfmp-exercises --features solutions fails (see $solutions_log)"
fi
for name in "${exercises[@]}"; do
  ok=$(count "$solutions_log" "$name" ok)
  bad=$(count "$solutions_log" "$name" FAILED)
  if [ "$ok" -gt 0 ] && [ "$bad" -eq 0 ]; then
    pass "$name: the solution passes all $ok tests"
  else
    fail "$name: the solution passes $ok tests and fails $bad (see $solutions_log)"
  fi
done

# 2. The exercises as shipped: build once, so that a compile error is
# reported as such, then run each exercise's tests alone.
shipped_log=$log_dir/build.log
if ! cargo test -p rfmp-exercises --locked --no-run >"$shipped_log" 2>&1; then
  fail "the exercises as shipped do not compile (see $shipped_log)"
else
  for name in "${exercises[@]}"; do
    log=$log_dir/$name.log
    # The run is expected to fail: its exit status is read from the log.
    cargo test -p rfmp-exercises --locked "$name::" >"$log" 2>&1 || true
    ok=$(count "$log" "$name" ok)
    bad=$(count "$log" "$name" FAILED)
    if [ "$bad" -gt 0 ]; then
      pass "$name: as shipped, $bad of $((ok + bad)) tests fail"
    else
      fail "$name: as shipped, no test fails ($ok pass; see $log)"
    fi
  done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
