// wss_echo_server.js - Node's `ws` package as a WebSocket echo server
// over https (TLS_KEY / TLS_CERT: PEM files) or plain http, on 127.0.0.1
// or on a Unix socket (UNIX=path), for tests/http/test_http_client_ws_live.c.
// Prints its port (or "unix") on the first line. The upgrade's answer sets
// a cookie (wsid=node1); /deny is refused with 403. A text "headers" is
// answered with the request's fields as JSON; "exit" ends the process (a
// 60 s safety timer does too); anything else is echoed.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');
const server = process.env.TLS_KEY
    ? https.createServer({ key: fs.readFileSync(process.env.TLS_KEY),
                           cert: fs.readFileSync(process.env.TLS_CERT) })
    : http.createServer();
const wss = new WebSocketServer({
    server,
    verifyClient: (info) => !info.req.url.startsWith('/deny'),
});
wss.on('headers', (headers) => headers.push('Set-Cookie: wsid=node1; Path=/'));
wss.on('connection', (ws, req) => {
    ws.on('message', (data, isBinary) => {
        if (!isBinary) {
            const s = data.toString();
            if (s === 'exit') process.exit(0);
            if (s === 'headers') {
                ws.send(JSON.stringify(Object.assign({ url: req.url },
                                                     req.headers)));
                return;
            }
        }
        ws.send(data, { binary: isBinary });
    });
});
if (process.env.UNIX)
    server.listen(process.env.UNIX, () => console.log('unix'));
else
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
setTimeout(() => process.exit(3), 60000);
