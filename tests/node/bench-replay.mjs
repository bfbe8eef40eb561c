// bench-replay.mjs: the transport floor of a benchmark.  A server that
// knows every reply in advance: it listens on a Unix socket and answers
// request line "N" with line N of a file, already encoded, so a client
// that times it measures the socket, the write of the reply and its own
// read of the reply, with no work behind them.
//
// Usage: node bench-replay.mjs SOCKET FILE   (prints "replay: listening")
import fs from 'node:fs';
import net from 'node:net';

const [sock, file] = process.argv.slice(2);
const replies = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')
  .map((l) => Buffer.from(l + '\n'));
const server = net.createServer((s) => {
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const n = Number(buf.slice(0, i));
      buf = buf.slice(i + 1);
      s.write(replies[n] ?? Buffer.from('{"ok":false}\n'));
    }
  });
  s.on('error', () => {});
});
server.listen(sock, () => console.log('replay: listening'));
process.on('SIGTERM', () => process.exit(0));
