#!/bin/sh
# Interop: two official @instantdb/core clients (tests/node, pinned) against
# instant-devserver.  Fails (never skips) when node or the package is
# missing.
. "${top_srcdir:-.}/tests/interop/devserver_lib.sh"
devserver_need_node
devserver_start --control 127.0.0.1:0
PORT=$DS_PORT CONTROL_PORT=$DS_CONTROL APP_ID=$DS_APP \
	"$NODE" "$DS_NODE_DIR/devserver-interop.mjs"
