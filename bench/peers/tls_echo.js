// Node tls echo server, the Node peer of bench/sections/tls.sh (adapted
// from ../shared/bench/peers/node/echo_server.js): socket.pipe(socket).
// TLS 1.3 only, TLS_AES_128_GCM_SHA256.
// Usage: node tls_echo.js PORT CERT KEY. Binds 127.0.0.1 only.
'use strict';
const tls = require('tls');
const fs = require('fs');
const [port, cert, key] = process.argv.slice(2);
const server = tls.createServer({
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  minVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256',
}, (s) => {
  s.setNoDelay(true);
  s.on('error', () => {});
  s.pipe(s);
});
server.on('tlsClientError', () => {});
server.listen(Number(port), '127.0.0.1', () => console.log('listening'));
