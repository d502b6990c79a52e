# uvloop + ssl echo server, the Python peer of bench/sections/tls.sh: an
# asyncio Protocol echoing every chunk (adapted from
# ../shared/bench/peers/python/echo_server.py), ssl= on create_server.
# TLS 1.3 only, TLS_AES_128_GCM_SHA256.
# Usage: python3 tls_echo_uvloop.py PORT CERT KEY. Binds 127.0.0.1 only.
import asyncio
import ssl
import sys

import uvloop


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def main(port, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", int(port), ssl=ctx,
                                      backlog=1024)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main(*sys.argv[1:4]))
