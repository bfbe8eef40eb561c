#!/bin/sh
# Interop: the official client resends its pending mutations after an
# instant-devserver restart on the same port and data directory.  The node
# script starts and restarts the server itself.
. "${top_srcdir:-.}/tests/interop/devserver_lib.sh"
devserver_need_node
mkdir -p "$DS_DATA"
DATA_DIR=$DS_DATA APP_ID=$DS_APP "$NODE" "$DS_NODE_DIR/devserver-restart.mjs"
