// badinput.mjs: the local bad-input catalog against a running instantd.
//
//   node badinput.mjs check SOCK VECTORS
//	Each vector on its own connection, followed (unless it closes the
//	connection) by a status request: the vector's reply must carry the
//	expected error code, id, hint.op and message substring, and the
//	connection must then still answer (or be closed, for too-large).
//	Prints one line per failure and exits 1 if any.
//   node badinput.mjs barrage SOCK VECTORS STOPFILE
//	The vectors over and over at 2000 lines/s until STOPFILE exists;
//	prints how many were sent.
//   node badinput.mjs probe SOCK N
//	N sequential round trips (status and an offline query, alternately)
//	on one connection (or as many as 10 s allow); prints
//	{"p50":ms,"p99":ms,"n":count}.
import { readFileSync, existsSync } from "node:fs";
import net from "node:net";

const [mode, sock, arg1, arg2] = process.argv.slice(2);

// The bytes of one vector's line (without the newline).
function lineBytes(v) {
	if (v.line !== undefined)
		return Buffer.from(v.line, "utf8");
	if (v.line_b64 !== undefined)
		return Buffer.from(v.line_b64, "base64");
	const g = v.gen;
	return Buffer.concat([Buffer.from(g.prefix, "utf8"),
	    Buffer.alloc(g.count, g.fill), Buffer.from(g.suffix, "utf8")]);
}

// Load a JSON-lines catalog.
function loadVectors(path) {
	return readFileSync(path, "utf8").split("\n").filter((l) => l.trim())
	    .map((l) => JSON.parse(l));
}

// Send one vector on a new connection; resolve with the lines received
// and whether the daemon closed the connection.
function exchange(v, timeoutMs) {
	return new Promise((resolve) => {
		const c = net.createConnection(sock);
		let buf = "", lines = [], done = false;
		const closes = v.expect.closes === true;
		const finish = (closed) => {
			if (done)
				return;
			done = true;
			clearTimeout(timer);
			c.destroy();
			resolve({ lines, closed });
		};
		const timer = setTimeout(() => finish(false), timeoutMs);
		c.on("error", () => finish(true));
		c.on("close", () => finish(true));
		c.on("data", (d) => {
			buf += d.toString("utf8");
			let i;
			while ((i = buf.indexOf("\n")) >= 0) {
				const l = buf.slice(0, i);
				buf = buf.slice(i + 1);
				let m;
				try {
					m = JSON.parse(l);
				} catch {
					m = { unparsable: l };
				}
				lines.push(m);
				if (m.id === "__after")
					finish(false);
			}
		});
		c.on("connect", () => {
			const nl = v.gen && v.gen.no_newline ? "" : "\n";
			c.write(Buffer.concat([lineBytes(v), Buffer.from(nl)]));
			if (v.gen && v.gen.no_newline)
				c.end();
			else if (!closes)
				c.write('{"op":"status","id":"__after"}\n');
		});
	});
}

// Check one vector's exchange against its expectation: null or a reason.
function verdict(v, r) {
	const e = v.expect;
	const errs = r.lines.filter((m) => m.ok === false);
	const reply = errs[0];

	if (reply === undefined)
		return `no error reply (got ${JSON.stringify(r.lines).slice(0, 200)})`;
	if (errs.length !== 1)
		return `${errs.length} error replies`;
	if (reply.error.code !== e.code)
		return `code ${reply.error.code}, expected ${e.code}: ${reply.error.message}`;
	if (typeof reply.error.message !== "string" || reply.error.message === "")
		return "empty message";
	if (e.message !== undefined &&
	    !reply.error.message.toLowerCase().includes(e.message.toLowerCase()))
		return `message "${reply.error.message}" lacks "${e.message}"`;
	if ("id" in e && reply.id !== e.id)
		return `id ${JSON.stringify(reply.id)}, expected ${JSON.stringify(e.id)}`;
	if (e.hint_op !== undefined && (reply.error.hint || {}).op !== e.hint_op)
		return `hint.op ${JSON.stringify(reply.error.hint)}`;
	const after = r.lines.find((m) => m.id === "__after");
	if (e.closes) {
		if (!r.closed)
			return "the connection stayed open";
	} else if (after === undefined || after.ok !== true)
		return "the connection did not answer the next request";
	return null;
}

// check mode.
async function check() {
	const vs = loadVectors(arg1);
	let bad = 0;

	for (const v of vs) {
		const why = verdict(v, await exchange(v, 10000));
		if (why !== null) {
			console.log(`FAIL ${v.name}: ${why}`);
			bad++;
		}
	}
	console.log(`${vs.length - bad}/${vs.length} vectors answered as expected`);
	process.exit(bad ? 1 : 0);
}

// barrage mode: the catalog at a steady 2000 lines/s, 20 every 10 ms,
// pipelined on two long-lived connections (the lines that keep a
// connection open) and on a new connection each (those that close it).
async function barrage() {
	const vs = loadVectors(arg1);
	const keep = vs.filter((v) => !v.expect.closes);
	const close = vs.filter((v) => v.expect.closes);
	const conns = [0, 1].map(() => {
		const c = net.createConnection(sock);
		c.on("error", (e) => {
			console.error(`barrage: ${e.message}`);
			process.exit(2);
		});
		c.on("data", () => {});
		return c;
	});
	let n = 0, k = 0, tick = 0;

	await new Promise((resolve) => {
		const timer = setInterval(() => {
			if (existsSync(arg2)) {
				clearInterval(timer);
				resolve();
				return;
			}
			for (let i = 0; i < 20; i++, n++) {
				const v = keep[k++ % keep.length];
				conns[i % 2].write(Buffer.concat([lineBytes(v),
				    Buffer.from("\n")]));
			}
			if (tick++ % 10 === 0) {
				exchange(close[tick % close.length], 10000);
				n++;
			}
		}, 10);
	});
	conns.forEach((c) => c.destroy());
	console.log(`${n} vectors sent`);
}

// The p-th percentile of sorted xs.
function pct(xs, p) {
	return xs[Math.min(xs.length - 1, Math.floor(xs.length * p))];
}

// probe mode.
function probe() {
	const total = Number(arg1);
	const c = net.createConnection(sock);
	const reqs = ['{"op":"status","id":1}',
	    '{"op":"query","id":1,"q":{"todos":{"$":{"limit":5}}}}'];
	const rtts = [];
	// A stalled daemon must not make the test run for minutes: stop
	// after 10 s with what was measured (its p50 and p99 tell).
	const deadline = process.hrtime.bigint() + 10_000_000_000n;
	let buf = "", t0 = 0n, k = 0, warm = 20;

	const next = () => {
		t0 = process.hrtime.bigint();
		c.write(reqs[k++ % 2] + "\n");
	};
	c.on("connect", next);
	c.on("error", (e) => {
		console.error(`probe: ${e.message}`);
		process.exit(2);
	});
	c.on("data", (d) => {
		buf += d.toString("utf8");
		let i;
		while ((i = buf.indexOf("\n")) >= 0) {
			const m = JSON.parse(buf.slice(0, i));
			buf = buf.slice(i + 1);
			if (m.id !== 1)
				continue; // the connection event
			if (m.ok !== true) {
				console.error(`probe: ${JSON.stringify(m)}`);
				process.exit(2);
			}
			if (warm > 0)
				warm--;
			else
				rtts.push(Number(process.hrtime.bigint() - t0) / 1e6);
			if (rtts.length === total ||
			    process.hrtime.bigint() > deadline) {
				rtts.sort((a, b) => a - b);
				console.log(JSON.stringify({ p50: pct(rtts, 0.5),
				    p99: pct(rtts, 0.99), n: rtts.length }));
				c.destroy();
				return;
			}
			next();
		}
	});
}

if (mode === "check")
	await check();
else if (mode === "barrage")
	await barrage();
else if (mode === "probe")
	probe();
else {
	console.error("usage: badinput.mjs check|barrage|probe SOCK ...");
	process.exit(2);
}
