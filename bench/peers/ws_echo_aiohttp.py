"""ws_echo_aiohttp.py - the aiohttp peer of the ws_echo figure: a
WebSocket echo server (aiohttp.web, WebSocketResponse) on uvloop, on
127.0.0.1 --port P. bench/ws_load drives it. compress stays as aiohttp's
default (it only compresses when the client offers permessage-deflate,
which ws_load does not)."""
import argparse

import aiohttp
from aiohttp import web
import uvloop


async def echo(request):
    ws = web.WebSocketResponse(max_msg_size=0)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
        elif msg.type == aiohttp.WSMsgType.TEXT:
            await ws.send_str(msg.data)
    return ws


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    uvloop.install()
    app = web.Application()
    app.router.add_get("/", echo)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None,
                access_log=None)


main()
