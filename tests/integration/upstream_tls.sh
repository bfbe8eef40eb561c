#!/bin/sh
# instantd against a wss:// server with a self-signed CA: refused by
# default (verification is always on), accepted with --ca-file.
. "$top_srcdir/tests/lib.sh"

command -v openssl >/dev/null || fail "the openssl command is missing"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=instantd test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"$T/openssl.log"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$T/srv.ext"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/srv.key" -out "$T/srv.csr" -subj "/CN=localhost" 2>>"$T/openssl.log"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
    -CAcreateserial -out "$T/srv.pem" -days 2 -extfile "$T/srv.ext" 2>>"$T/openssl.log"

start_devserver dev
"$SOCAT" -d -d "OPENSSL-LISTEN:0,bind=127.0.0.1,fork,reuseaddr,verify=0,cert=$T/srv.pem,key=$T/srv.key" \
    "TCP:127.0.0.1:$DEV_PORT" 2>"$T/socat.log" &
_pids="$_pids $!"
wait_for_line "$T/socat.log" "listening on AF=2 127.0.0.1:[0-9]+"
TLS_PORT=$(sed -n 's/.*listening on AF=2 127.0.0.1:\([0-9]*\).*/\1/p' "$T/socat.log" | head -n 1)
APP=$(cat /proc/sys/kernel/random/uuid)

# state_of SOCK: the app's connection state and reason.
state_of() {
	send "$1" '{"op":"status","id":1}' | grep '"id":1,' | jq -r '.connection.state + " " + (.connection.reason // "")'
}

start_daemon plain --app "$APP" --api-uri "https://localhost:$TLS_PORT"
n=0
until state_of "$SOCK" | grep -q "certificate verification failed"; do
	n=$((n + 1)); [ $n -lt 200 ] || fail "no verification failure: $(state_of "$SOCK")"; sleep 0.05
done
pass "wss to a private CA is refused by default: $(state_of "$SOCK")"

start_daemon trusting --app "$APP" --api-uri "https://localhost:$TLS_PORT" --ca-file "$T/ca.pem"
n=0
until [ "$(state_of "$SOCK")" = "authenticated " ]; do
	n=$((n + 1)); [ $n -lt 200 ] || fail "not authenticated with --ca-file: $(state_of "$SOCK")"; sleep 0.05
done
r=$(send "$SOCK" "{\"op\":\"transact\",\"id\":1,\"wait\":\"synced\",\"steps\":[[\"update\",\"notes\",\"$(cat /proc/sys/kernel/random/uuid)\",{\"n\":1}]]}" | grep '"id":1,') ||
    fail "no reply with id 1"
assert_eq "$(jqr "$r" .status)" synced "a write over wss"
pass "accepted with --ca-file, and a transaction syncs over wss"
