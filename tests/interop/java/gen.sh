#!/bin/sh
# Assemble the three single-file programs (java FILE.java runs one without a
# build step) from src/: each is its main class followed by the same common
# code. Usage: gen.sh OUTDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
cat "$here/src/ClientMain.javapart" "$here/src/Common.javapart" > "$out/RfmpClient.java"
cat "$here/src/ServerMain.javapart" "$here/src/Common.javapart" > "$out/RfmpServer.java"
cat "$here/src/TestMain.javapart" "$here/src/Common.javapart" > "$out/VectorTest.java"
