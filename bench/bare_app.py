"""A bare ASGI app returning 4 KiB: the ceiling of any Python request path.

``python -m bench.bare_app PORT WORKERS`` serves it exactly as ``cumulo.server``
serves Cumulo: the parent binds one socket, forks WORKERS processes, each runs
uvicorn with ``loop="none"`` and Cumulo's httptools protocol (``cumulo.worker``:
small writes coalesced) under ``uvloop.run``, no access log, no server header.
``granian ... bench.bare_app:app`` serves the same app on granian, for the
server-stack comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from typing import Any

BODY = b"x" * 4096
HEADERS = [
    (b"content-type", b"application/octet-stream"),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def _worker(sock: socket.socket) -> None:
    import uvicorn
    import uvloop

    from cumulo.worker import HttpProtocol

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    config = uvicorn.Config(
        app,
        loop="none",
        http=HttpProtocol,
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=75,
        server_header=False,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGTERM, lambda: setattr(server, "should_exit", True)
        )
        await server.serve(sockets=[sock])

    uvloop.run(main())


def main() -> int:
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            try:
                _worker(sock)
            finally:
                os._exit(0)
        children.append(pid)

    def stop(*_: Any) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in children:
        try:
            os.wait()
        except ChildProcessError:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
