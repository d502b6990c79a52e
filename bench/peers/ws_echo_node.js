// ws_echo_node.js - the Node peer of the ws_echo figure: Node's `ws`
// package (npm, installed by bench/run into build/bench/node_ws) as a
// WebSocket echo server on 127.0.0.1 --port P, permessage-deflate off
// (ws_load does not offer it). bench/ws_load drives it.
'use strict';
const { WebSocketServer } = require('ws');
const i = process.argv.indexOf('--port');
const port = Number(process.argv[i + 1]);
const wss = new WebSocketServer({ host: '127.0.0.1', port,
    perMessageDeflate: false, maxPayload: 64 << 20 });
wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
