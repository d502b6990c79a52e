// trailers_server.js - Node's core http2 module (no npm package) as an h2c
// server (prior knowledge) for test_http_client_extras_live: responses
// with trailing HEADERS. Prints its port, serves until /quit or 60 s.
//   /trailers  body "hello", trailers x-checksum: abc, grpc-status: 0
//   /many      body "x", 40 trailer fields (more than a small max_headers)
//   /big       body "x", one trailer field of 3000 bytes
//   /hdr       body: the request's fields as JSON, no trailers
'use strict';
const http2 = require('http2');
const server = http2.createServer();
server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    if (path === '/quit') {
        stream.respond({':status': 200});
        stream.end('bye');
        server.close();
        setTimeout(() => process.exit(0), 100);
        return;
    }
    if (path === '/hdr') {
        stream.respond({':status': 200, 'content-type': 'application/json'});
        stream.end(JSON.stringify(headers));
        return;
    }
    const many = path === '/many', big = path === '/big';
    stream.respond({':status': 200}, {waitForTrailers: true});
    stream.on('wantTrailers', () => {
        const t = {};
        if (big) {
            t['x-big'] = 'b'.repeat(3000);
        } else if (many) {
            for (let i = 0; i < 40; i++)
                t['x-t' + i] = 'v' + i;
        } else {
            t['x-checksum'] = 'abc';
            t['grpc-status'] = '0';
        }
        stream.sendTrailers(t);
    });
    stream.end(many || big ? 'x' : 'hello');
});
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(server.address().port + '\n');
});
setTimeout(() => process.exit(0), 60000).unref();
