#!/bin/sh
# Interop: official @instantdb/core clients with a schema (unique and
# indexed attrs, has-one links, cascades) against instant-devserver.
. "${top_srcdir:-.}/tests/interop/devserver_lib.sh"
devserver_need_node
devserver_start
PORT=$DS_PORT APP_ID=$DS_APP "$NODE" "$DS_NODE_DIR/devserver-schema.mjs"
