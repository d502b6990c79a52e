// Node dgram echo server, the Node peer of bench/run's udp section: every
// 'message' is sent back to its sender with socket.send.
// Usage: node udp_echo.js. Binds 127.0.0.1 on a free port, prints
// "port N", stops at the first 1-byte datagram (the load's end marker).
'use strict';
const dgram = require('dgram');

const sock = dgram.createSocket('udp4');
sock.on('message', (msg, rinfo) => {
    if (msg.length === 1) {
        sock.close();
        return;
    }
    sock.send(msg, rinfo.port, rinfo.address);
});
sock.on('error', () => {});
sock.bind(0, '127.0.0.1', () => {
    console.log('port ' + sock.address().port);
});
