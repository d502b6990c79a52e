// http_client_undici.js - the Node undici peer of bench/http_client.c: an
// undici Pool of 50 connections (no pipelining) and 50 concurrent loops of
// GET http://127.0.0.1:PORT/ reading the whole body. After a warm-up it
// prints the process's CPU time (user + system) per request:
//     http_client_cpu_ns_per_req <ns>
// undici comes from npm (bench/run installs it under the build tree and
// sets NODE_PATH).
// Usage: node http_client_undici.js --port P [--conns 50] [--requests N]
//        [--warmup N]
'use strict';
const { Pool } = require('undici');

const opt = { port: 0, conns: 50, requests: 100000, warmup: 10000 };
for (let i = 2; i + 1 < process.argv.length; i += 2)
    opt[process.argv[i].replace(/^--/, '')] = Number(process.argv[i + 1]);

async function batch(pool, count) {
    let left = count;
    async function worker() {
        while (left > 0) {
            left--;
            const { statusCode, body } = await pool.request({ path: '/', method: 'GET' });
            const text = await body.text();
            if (statusCode !== 200 || text !== 'Hello, World!')
                throw new Error('bad response');
        }
    }
    const ws = [];
    for (let i = 0; i < opt.conns; i++) ws.push(worker());
    await Promise.all(ws);
}

(async () => {
    const pool = new Pool(`http://127.0.0.1:${opt.port}`,
                          { connections: opt.conns, pipelining: 1 });
    await batch(pool, opt.warmup);
    const c0 = process.cpuUsage();
    await batch(pool, opt.requests);
    const c = process.cpuUsage(c0);
    console.log(`http_client_cpu_ns_per_req ${((c.user + c.system) * 1000 / opt.requests).toFixed(1)}`);
    await pool.close();
})().catch((e) => { console.error(e); process.exit(1); });
