// bench-lib.mjs: helpers shared by the bench-*.mjs benchmarks: start
// instantd and instant-devserver on temporary paths, a JSON-lines client
// for the local socket, the replay server of transport floors, /proc
// memory readings, medians and tables.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

export const quick = process.argv.includes('--quick');

// The value after --name on the command line, or def.
export function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

// This file's directory (tests/node).
const here = path.dirname(new URL(import.meta.url).pathname);

export const topBuild = path.resolve(arg('top-builddir', process.env.top_builddir ||
  path.join(here, '../..')));
export const instantdBin = path.resolve(arg('instantd', path.join(topBuild, 'instantd')));
export const devserverBin = path.resolve(
  arg('devserver', path.join(topBuild, 'instant-devserver')));

// A fresh temporary directory removed at exit.
export function tmpDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${tag}.`));
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

// Wait until the child's stderr (or stdout) matches re; resolve the match.
function waitLine(child, re, what) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const on = (d) => {
      buf += d;
      const m = buf.match(re);
      if (m) {
        child.stderr.off('data', on);
        child.stdout.off('data', on);
        resolve(m);
      }
    };
    child.stderr.on('data', on);
    child.stdout.on('data', on);
    child.once('exit', (c) => reject(new Error(`${what} exited (${c}): ${buf}`)));
  });
}

const children = new Set();
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL'); } catch {} });

// Start instantd; resolve {proc, sock, pid, readyMs} once it listens.
export async function startDaemon({ dir, dataDir, config = '/dev/null', args = [] }) {
  const sock = path.join(dir, `sock.${randomUUID().slice(0, 8)}`);
  const t0 = process.hrtime.bigint();
  const proc = spawn(instantdBin, ['--foreground', '--socket', sock, '--data-dir', dataDir,
    '--config', config, '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  await waitLine(proc, /instantd: listening on/, 'instantd');
  const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
  proc.stderr.resume();
  proc.stdout.resume();
  return { proc, sock, pid: proc.pid, readyMs };
}

// Start the replay server (bench-replay.mjs) on the lines of file;
// resolve {proc, sock}.
export async function startReplay({ dir, file }) {
  const sock = path.join(dir, `replay.${randomUUID().slice(0, 8)}`);
  const proc = spawn(process.execPath, [path.join(here, 'bench-replay.mjs'), sock, file],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  await waitLine(proc, /replay: listening/, 'replay server');
  proc.stderr.resume();
  proc.stdout.resume();
  return { proc, sock };
}

// Start instant-devserver on a free port; resolve {proc, port, pid}.
export async function startDevserver({ dataDir, args = [], listen = '127.0.0.1:0' }) {
  const proc = spawn(devserverBin, ['--data', dataDir, '--listen', listen,
    '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const m = await waitLine(proc, /instant-devserver listening on 127\.0\.0\.1:(\d+)/,
    'instant-devserver');
  proc.stderr.resume();
  proc.stdout.resume();
  return { proc, port: Number(m[1]), pid: proc.pid };
}

// Stop a child and wait for it.
export function stop(proc, sig = 'SIGTERM') {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill(sig);
  });
}

// A JSON-lines client of the local socket.
export class Client {
  constructor(sock) {
    this.sock = sock;
    this.next = 1;
    this.waiting = [];
    this.onEvent = null;
    this.buf = '';
  }

  // Connect; resolves this.
  open() {
    return new Promise((resolve, reject) => {
      this.s = net.connect(this.sock, () => resolve(this));
      this.s.once('error', reject);
      this.s.setEncoding('utf8');
      this.s.on('data', (d) => this.data(d));
      // A closed connection fails every waiting request.
      this.s.on('close', () => {
        for (const w of this.waiting.splice(0))
          w(JSON.stringify({ ok: false, error: { code: 'closed', message: 'connection closed' } }));
      });
    });
  }

  // Split incoming data into lines; only the new chunk is searched, so a
  // multi-megabyte reply costs linear time.
  data(d) {
    let i;
    while ((i = d.indexOf('\n')) >= 0) {
      const line = this.buf + d.slice(0, i);
      this.buf = '';
      d = d.slice(i + 1);
      this.line(line);
    }
    this.buf += d;
  }

  line(line) {
    if (line.startsWith('{"event"')) {
      if (this.onEvent) this.onEvent(line);
      return;
    }
    const w = this.waiting.shift();
    if (w) w(line);
  }

  // Send one request; resolves the raw reply line (or parsed with parse).
  send(req, { parse = true } = {}) {
    req.id = this.next++;
    return this.sendRaw(JSON.stringify(req) + '\n').then((l) => (parse ? JSON.parse(l) : l));
  }

  // Send an already-serialized request line; resolves the raw reply line.
  sendRaw(line) {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.s.write(line);
    });
  }

  close() { this.s.destroy(); }
}

// Fail loudly on a not-ok reply.
export function ok(r, what) {
  if (!r.ok) throw new Error(`${what}: ${JSON.stringify(r.error)}`);
  return r;
}

// VmRSS and VmHWM of pid in MiB.
export function mem(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`${k}:\\s+(\\d+) kB`)) || [0, 0])[1]);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

export function median(v) {
  const a = [...v].sort((x, y) => x - y);
  const n = a.length;
  return n === 0 ? NaN : n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}

// Print a table: header row and rows of cells, columns padded.
export function table(title, head, rows) {
  const all = [head, ...rows].map((r) => r.map(String));
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  console.log(`\n${title}\n`);
  console.log(line(all[0]));
  console.log('|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|');
  for (const r of all.slice(1)) console.log(line(r));
  console.log('');
}

export function fmt(x, d = 2) {
  return Number.isFinite(x) ? x.toFixed(d) : String(x);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
