// Node.js `http2` hello-world server, h2c (cleartext, prior knowledge):
// the Node peer of the HTTP/2 benchmark (bench/sections/h2.sh).
// GET / -> "Hello, World!" text/plain
// Usage: node h2_server.js port   (or PORT env). Binds 127.0.0.1 only.
'use strict';
const http2 = require('http2');
const port = Number(process.argv[2] || process.env.PORT);
if (!port) { console.error('usage: node h2_server.js port'); process.exit(2); }
const HELLO = 'Hello, World!';
const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } });
server.on('stream', (stream, headers) => {
  stream.respond({ ':status': 200, 'content-type': 'text/plain',
                   'content-length': HELLO.length });
  stream.end(HELLO);
});
server.listen({ host: '127.0.0.1', port, backlog: 4096 });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
