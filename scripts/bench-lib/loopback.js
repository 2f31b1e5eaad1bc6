// Loopback throughput, measured in the same run as the scenarios: the lower bound's
// "bytes / throughput" term must use what THIS machine moves over 127.0.0.1 right now,
// not a constant from somewhere else.
import http from 'node:http';

/** Streams `totalBytes` from a local HTTP server to a local client; returns bytes/second. */
export async function measureLoopback(totalBytes) {
  const chunk = Buffer.alloc(1 << 20, 0x61);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': totalBytes });
    let sent = 0;
    const pump = () => {
      while (sent < totalBytes) {
        const n = Math.min(chunk.length, totalBytes - sent);
        sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const started = process.hrtime.bigint();
  const received = await new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let n = 0;
        res.on('data', (d) => (n += d.length));
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await new Promise((resolve) => server.close(resolve));
  if (received !== totalBytes) throw new Error(`loopback: received ${received} of ${totalBytes} bytes`);
  return received / seconds;
}
