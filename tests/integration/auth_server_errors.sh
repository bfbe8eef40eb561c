#!/bin/sh
# How the auth ops take a misbehaving server: errors that quote a token
# the client never saw, non-JSON bodies, 5xx, a sign-in reply without a
# token.  The server is a small scripted HTTP responder in node.
. "$top_srcdir/tests/lib.sh"

APP=$(cat /proc/sys/kernel/random/uuid)
GUEST_TOKEN=guest-token-$(cat /proc/sys/kernel/random/uuid)

# The responder: sign_in_guest gives a guest with GUEST_TOKEN; every
# verify_magic_code answer is the next of a script of bad replies.
cat > "$T/api.mjs" <<'JS'
import http from 'node:http';
const token = process.env.GUEST_TOKEN;
const bad = [
  (b) => [400, JSON.stringify({ type: 'param-malformed',
    message: `bad refresh-token ${b['refresh-token']}`, hint: { input: b } })],
  (b) => [400, JSON.stringify({ type: 'param-malformed', message: 'no',
    hint: { 'echo': b } })],
  () => [502, '<html>bad gateway</html>'],
  () => [500, JSON.stringify({ type: 'sql-exception', message: 'Database error' })],
  () => [200, JSON.stringify({ user: { id: 'u-without-token' } })],
];
let n = 0;
const srv = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    let b = {};
    try { b = JSON.parse(body); } catch (e) {}
    let [status, text] = [404, '{}'];
    if (req.url === '/runtime/auth/sign_in_guest')
      [status, text] = [200, JSON.stringify({ user: { id: 'g1', type: 'guest', refresh_token: token } })];
    else if (req.url === '/runtime/auth/verify_magic_code')
      [status, text] = bad[n++ % bad.length](b);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  });
});
srv.listen(0, '127.0.0.1', () => console.log(`port ${srv.address().port}`));
JS
: > "$T/api.out"
GUEST_TOKEN=$GUEST_TOKEN "$NODE" "$T/api.mjs" > "$T/api.out" 2>> "$T/api.log" &
_pids="$_pids $!"
wait_for_line "$T/api.out" '^port '
PORT=$(sed -n 's/^port //p' "$T/api.out")

start_daemon d --app "$APP" --api-uri "http://127.0.0.1:$PORT" --log-level debug

req() {
	send "$SOCK" "$1" | tee -a "$T/seen.txt" | grep '"id":1,' || true
}
verify='{"op":"verify-magic-code","id":1,"email":"a@example.com","code":"1"}'

r=$(req '{"op":"sign-in-guest","id":1}')
assert_eq "$(jqr "$r" '.ok,.user.id' | tr '\n' ' ')" "true g1 " "sign-in-guest"

r=$(req "$verify")
assert_eq "$(jqr "$r" '.error.code,.error.hint.status,(.error.hint|keys|@json)' | tr '\n' ' ')" \
    'upstream 400 ["status"] ' "an error quoting the guest's token"
pass "an error quoting a token the client never saw is cut down to its status"
r=$(req "$verify")
assert_eq "$(jqr "$r" '.error.code,.error.hint.type,(.error.hint.hint.echo|keys|@json)' | tr '\n' ' ')" \
    'upstream param-malformed ["app-id","code","email"] ' "an error echoing the request"
pass "an error echoing the request loses the token field only"

r=$(req "$verify")
assert_eq "$(jqr "$r" '.error.code,.error.hint.status' | tr '\n' ' ')" "upstream 502 " "a non-JSON 502"
r=$(req "$verify")
assert_eq "$(jqr "$r" '.error.code,.error.hint.status,.error.hint.type' | tr '\n' ' ')" \
    "upstream 500 sql-exception " "a 500"
r=$(req "$verify")
assert_eq "$(jqr "$r" '.error.code,.error.hint.status' | tr '\n' ' ')" "upstream 200 " "a user without a token"
assert_eq "$(req '{"op":"whoami","id":1}' | jq -r .user.id)" g1 "failed sign-ins change nothing"
pass "server failures are upstream errors and change nothing"

cat "$T"/*.out >> "$T/seen.txt"
! grep -qF "$GUEST_TOKEN" "$T/seen.txt" || fail "the guest token reached a client"
! grep -qF "$GUEST_TOKEN" "$T/d.log" || fail "the guest token is in the log"
pass "the guest token stayed inside the daemon"
