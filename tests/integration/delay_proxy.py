"""A TCP proxy that holds every chat-completion request for a fixed delay before forwarding it:
a candidate made slower by exactly that much, for the gate tests against servers the user
started. Run as its own process (as a user's proxy would be):

    python delay_proxy.py PORT_FILE UPSTREAM_PORT DELAY_MS

It listens on 127.0.0.1 on a free port, writes that port to PORT_FILE, and runs until killed.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time


def pipe(src: socket.socket, dst: socket.socket, delay_s: float) -> None:
    try:
        while data := src.recv(65536):
            if delay_s and data.startswith(b"POST /v1/chat/completions"):
                time.sleep(delay_s)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(port_file: str, upstream: int, delay_s: float) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with open(port_file + ".tmp", "w") as fh:
        fh.write(str(listener.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", upstream))
        threading.Thread(target=pipe, args=(client, server, delay_s), daemon=True).start()
        threading.Thread(target=pipe, args=(server, client, 0.0), daemon=True).start()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 1e3)
