#!/usr/bin/env python3
"""client_peer.py - a real HTTP/1.1 server (Python's http.server) for
test_http_client_live: gzip and deflate bodies, a chunked body, a
close-delimited HTTP/1.0-style body, JSON, and a count of the TCP
connections it accepted (to check the client's keep-alive pool from the
server's side). Prints its port on stdout, then serves on 127.0.0.1 until
killed, or 60 s at most (bounded in time by itself)."""
import gzip
import json
import os
import signal
import socketserver
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer

connections = 0
lock = threading.Lock()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        global connections
        with lock:
            connections += 1
        super().setup()

    def log_message(self, *a):
        pass

    def send_body(self, body, ctype="text/plain", extra=()):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/gzip":
            self.send_body(gzip.compress(b"g" * 3000),
                           extra=[("Content-Encoding", "gzip")])
        elif self.path == "/deflate":
            self.send_body(zlib.compress(b"deflated hello\n"),
                           extra=[("Content-Encoding", "deflate")])
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"chunk one;", b"chunk two;"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the connection closes")
            self.close_connection = True
        elif self.path == "/json":
            self.send_body(json.dumps({"py": True}).encode(),
                           "application/json")
        elif self.path == "/connections":
            self.send_body(str(connections).encode())
        else:
            self.send_body(b"plain")


class S(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True


def main():
    srv = S(("127.0.0.1", 0), H)
    # one write, then stdout off: the test closes its end after reading
    os.write(1, b"%d\n" % srv.server_address[1])
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    signal.signal(signal.SIGALRM, lambda *a: sys.exit(0))
    signal.alarm(60)
    srv.serve_forever()


if __name__ == "__main__":
    main()
