#!/bin/sh
# ws_tls.sh: wss:// and https:// through a TLS terminator (socat) in front
# of instant-devserver, with a CA and certificates made here with the
# openssl CLI.  Refused by default (the CA is not in the system store),
# accepted with the CA as ca_file, by IP address and by name (SNI), and
# refused when the certificate names another host.
. "$top_srcdir/tests/lib.sh"

DRIVER="$top_builddir/tests/integration/ws_driver"
[ -x "$DRIVER" ] || fail "$DRIVER not built"
[ -x "$DEVSERVER" ] || fail "$DEVSERVER not built"
command -v openssl >/dev/null || fail "the openssl command is missing"
command -v "$SOCAT" >/dev/null || fail "socat is missing"

# expect_line FILE PATTERN WHAT: FILE has a line matching the regex.
expect_line() {
	grep -Eq "$2" "$1" || { cat "$1" >&2; fail "$3: no /$2/"; }
}

# make_cert NAME SAN: a key and a certificate signed by the test CA.
make_cert() {
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
	    "$2" >"$T/$1.ext"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1" 2>>"$T/openssl.log"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -out "$T/$1.pem" -days 2 -extfile "$T/$1.ext" \
	    2>>"$T/openssl.log"
}

# start_tls NAME: a TLS terminator with NAME's certificate in front of
# the devserver; sets TLS_PORT.
start_tls() {
	"$SOCAT" -d -d "OPENSSL-LISTEN:0,bind=127.0.0.1,fork,reuseaddr,verify=0,cert=$T/$1.pem,key=$T/$1.key" \
	    "TCP:127.0.0.1:$PORT" 2>"$T/socat-$1.log" &
	_pids="$_pids $!"
	wait_for_line "$T/socat-$1.log" "listening on AF=2 127.0.0.1:[0-9]+"
	TLS_PORT=$(sed -n 's/.*listening on AF=2 127.0.0.1:\([0-9]*\).*/\1/p' \
	    "$T/socat-$1.log" | head -n 1)
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=instantd test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"$T/openssl.log"
make_cert good "DNS:localhost,IP:127.0.0.1"
make_cert wrong "DNS:wrong.example"

"$DEVSERVER" --listen 127.0.0.1:0 --data "$T/ds.data" >"$T/ds.out" \
    2>"$T/ds.log" &
_pids="$_pids $!"
wait_for_line "$T/ds.out" "^instant-devserver listening on 127.0.0.1:[0-9]+$"
PORT=$(sed -n 's/^instant-devserver listening on 127.0.0.1://p' "$T/ds.out")
start_tls good
GOOD=$TLS_PORT
start_tls wrong
WRONG=$TLS_PORT

APP=$(cat /proc/sys/kernel/random/uuid)
EV=$(cat /proc/sys/kernel/random/uuid)
INIT="{\"op\":\"init\",\"app-id\":\"$APP\",\"client-event-id\":\"$EV\",\"versions\":{\"@instantdb/core\":\"v1.0.67\"}}"
P="/runtime/session?app_id=$APP"

"$DRIVER" ws "wss://127.0.0.1:$GOOD$P" --send "$INIT" --until init-ok \
    >"$T/default.txt"
expect_line "$T/default.txt" '^closed: TLS certificate verification failed: unable to get local issuer certificate$' "default trust"
if grep -q '^open' "$T/default.txt"; then
	fail "opened without trusting the CA"
fi
pass "wss refused without the CA"

for host in 127.0.0.1 localhost; do
	"$DRIVER" ws "wss://$host:$GOOD$P" --ca "$T/ca.pem" --send "$INIT" \
	    --until init-ok >"$T/ok-$host.txt"
	expect_line "$T/ok-$host.txt" '^open$' "wss $host"
	expect_line "$T/ok-$host.txt" "^message: \{\"op\":\"init-ok\".*\"client-event-id\":\"$EV\"" "wss $host"
	expect_line "$T/ok-$host.txt" '^closed: done$' "wss $host"
	pass "wss://$host accepted with the CA"
done

"$DRIVER" ws "wss://localhost:$WRONG$P" --ca "$T/ca.pem" >"$T/badname.txt"
expect_line "$T/badname.txt" '^closed: TLS certificate verification failed: hostname mismatch$' "name mismatch"
"$DRIVER" ws "wss://127.0.0.1:$WRONG$P" --ca "$T/ca.pem" >"$T/badip.txt"
expect_line "$T/badip.txt" '^closed: TLS certificate verification failed: IP address mismatch$' "IP mismatch"
pass "wss refused for a certificate naming another host"

"$DRIVER" http GET "https://127.0.0.1:$GOOD/health/system" \
    --ca "$T/ca.pem" >"$T/https.txt"
expect_line "$T/https.txt" '^status: 200$' "https"
expect_line "$T/https.txt" '^body: \{"wal":"ok"\}$' "https"
"$DRIVER" http GET "https://localhost:$GOOD/nope" --ca "$T/ca.pem" \
    >"$T/https404.txt"
expect_line "$T/https404.txt" '^status: 404$' "https 404"
pass "https GET and 404 with the CA"

"$DRIVER" http GET "https://127.0.0.1:$GOOD/health/system" \
    >"$T/https-default.txt"
expect_line "$T/https-default.txt" '^status: 0$' "https default trust"
expect_line "$T/https-default.txt" '^error: TLS certificate verification failed: unable to get local issuer certificate$' "https default trust"
"$DRIVER" http GET "https://localhost:$WRONG/health/system" \
    --ca "$T/ca.pem" >"$T/https-badname.txt"
expect_line "$T/https-badname.txt" '^error: TLS certificate verification failed: hostname mismatch$' "https name mismatch"
pass "https refused without the CA and for another host's certificate"

# SNI: this server presents the good certificate only to clients that ask
# for "localhost" by SNI, and the wrong one otherwise.  It speaks plain
# HTTP after TLS, so getting past TLS shows as a non-101 answer.
openssl s_server -accept 127.0.0.1:0 -www -cert "$T/wrong.pem" \
    -key "$T/wrong.key" -servername localhost -cert2 "$T/good.pem" \
    -key2 "$T/good.key" >"$T/sserver.log" 2>&1 &
_pids="$_pids $!"
wait_for_line "$T/sserver.log" "^ACCEPT 127.0.0.1:[0-9]+$"
SNI=$(sed -n 's/^ACCEPT 127.0.0.1:\([0-9]*\)$/\1/p' "$T/sserver.log")
"$DRIVER" ws "wss://localhost:$SNI/" --ca "$T/ca.pem" >"$T/sni.txt"
expect_line "$T/sni.txt" '^closed: server answered "HTTP/1.0 200 ok" instead of 101 Switching Protocols$' "SNI"
pass "SNI sent for a host name"
