#!/bin/sh
# Interop: instant-devserver's fault injection, liveness and HTTP endpoints
# from raw WebSocket clients and the official client's auth API.  The node
# script starts the server itself (it reads the magic code from the log).
. "${top_srcdir:-.}/tests/interop/devserver_lib.sh"
devserver_need_node
mkdir -p "$DS_DATA"
DATA_DIR=$DS_DATA APP_ID=$DS_APP "$NODE" "$DS_NODE_DIR/devserver-faults.mjs"
