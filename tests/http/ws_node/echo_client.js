// echo_client.js - Node's `ws` package as a client of cio's WebSocket
// server (tests/http/test_http_ws_peers_live.c): sends text, binary,
// large and non-ASCII messages and one fragmented message, pings, checks
// every echo, then closes with 4000 "node bye". Prints "OK <extensions>"
// and exits 0 when everything matched. Usage: node echo_client.js URL
// [deflate]
'use strict';
const WebSocket = require('ws');
const url = process.argv[2];
const deflate = process.argv[3] === 'deflate';
const ws = new WebSocket(url, {
    perMessageDeflate: deflate ? { threshold: 0 } : false,
});
const msgs = ['hello', Buffer.from([0, 1, 2, 255]), 'x'.repeat(100000),
    'é€😀', Buffer.alloc(70000, 7), 'abcd'];
let i = 0, pong = false;
const fail = (why) => { console.log('BAD ' + why); process.exit(1); };
function next() {
    if (i === msgs.length - 1) {
        // The last one in two fragments.
        ws.send('ab', { fin: false });
        ws.send('cd', { fin: true });
    } else {
        ws.send(msgs[i], { binary: typeof msgs[i] !== 'string' });
    }
}
ws.on('open', () => { ws.ping('hb'); next(); });
ws.on('pong', (d) => { pong = d.toString() === 'hb'; });
ws.on('message', (data, isBinary) => {
    const want = msgs[i];
    const wantBin = typeof want !== 'string';
    if (isBinary !== wantBin) fail('type of message ' + i);
    if (Buffer.compare(Buffer.from(data), Buffer.from(want)) !== 0)
        fail('content of message ' + i);
    i++;
    if (i < msgs.length) next();
    else ws.close(4000, 'node bye');
});
ws.on('close', (code) => {
    if (code !== 4000 || i !== msgs.length || !pong)
        fail('close ' + code + ' after ' + i + ' pong ' + pong);
    console.log('OK ' + (ws.extensions || 'none'));
    process.exit(0);
});
ws.on('error', (e) => fail('error ' + e.message));
setTimeout(() => fail('timeout'), 20000);
