#!/bin/sh
# instantd and the official @instantdb/core client on the same app through
# instant-devserver: each sees the other's writes and they converge.
. "$top_srcdir/tests/lib.sh"

[ -f "$top_srcdir/tests/node/node_modules/@instantdb/core/package.json" ] ||
    fail "@instantdb/core is missing: run npm ci in tests/node"
APP=$(cat /proc/sys/kernel/random/uuid)
start_devserver dev
start_daemon d --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
cd "$top_srcdir/tests/node"
timeout 60 "$NODE" instantd-official.mjs "$DEV_PORT" "$APP" "$SOCK" ||
    fail "the official client and instantd did not converge"
