// echo_server.js - Node's `ws` package as a WebSocket echo server for
// tests/http/test_http_ws_peers_live.c (and bench/ws_echo through
// bench/peers/ws_echo_node.js). Prints its port on the first line.
// DEFLATE=1 enables permessage-deflate. A text "close:<code>" makes it
// close with that code and "node done"; "exit" ends the process (and a
// 60 s safety timer does).
'use strict';
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({
    host: '127.0.0.1', port: Number(process.env.PORT || 0),
    perMessageDeflate: process.env.DEFLATE === '1' ? { threshold: 0 } : false,
    maxPayload: 64 << 20,
});
wss.on('listening', () => console.log(wss.address().port));
wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
        if (!isBinary) {
            const s = data.toString();
            if (s === 'exit') process.exit(0);
            if (s.startsWith('close:')) {
                ws.close(parseInt(s.slice(6), 10), 'node done');
                return;
            }
        }
        ws.send(data, { binary: isBinary });
    });
});
setTimeout(() => process.exit(3), 60000);
