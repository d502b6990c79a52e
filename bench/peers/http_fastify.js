// Node's fastify (npm) hello-world server, the peer the issue names beside
// Node's http: GET / -> "Hello, World!" text/plain, GET /json ->
// {"hello":"world"} through fastify's router and JSON serializer.
// fastify comes from npm: bench/sections/httpsrv.sh installs it under the
// build tree (build/bench/npm) on first use and runs this file with
// NODE_PATH pointing there.
// Usage: node http_fastify.js port   (binds 127.0.0.1 only)
'use strict';
const fastify = require('fastify')({ logger: false, keepAliveTimeout: 60000 });
const port = Number(process.argv[2] || process.env.PORT);
if (!port) {
  console.error('usage: node http_fastify.js port');
  process.exit(2);
}
fastify.get('/', async (req, reply) => {
  reply.type('text/plain');
  return 'Hello, World!';
});
fastify.get('/json', async () => ({ hello: 'world' }));
fastify.listen({ host: '127.0.0.1', port, backlog: 4096 }, (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
});
