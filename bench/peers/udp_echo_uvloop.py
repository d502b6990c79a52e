# uvloop datagram echo server, the Python peer of bench/run's udp section:
# an asyncio.DatagramProtocol whose datagram_received sends every datagram
# back with transport.sendto (create_datagram_endpoint on uvloop's loop).
# Usage: python3 udp_echo_uvloop.py. Binds 127.0.0.1 on a free port, prints
# "port N", stops at the first 1-byte datagram (the load's end marker).
import asyncio

import uvloop


class Echo(asyncio.DatagramProtocol):
    def __init__(self, done):
        self.done = done

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if len(data) == 1:
            if not self.done.done():
                self.done.set_result(None)
            return
        self.transport.sendto(data, addr)


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Echo(done), local_addr=("127.0.0.1", 0))
    print("port", transport.get_extra_info("sockname")[1], flush=True)
    await done
    transport.close()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())
