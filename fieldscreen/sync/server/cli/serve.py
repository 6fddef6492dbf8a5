"""``fieldscreen-server serve``: run the server, in one process or several sharing the database."""

from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldscreen import __version__
from fieldscreen.sync.errors import ServerError
from fieldscreen.sync.server.cli.common import AddCommand, Parents, default_db, open_storage
from fieldscreen.sync.server.cli.passphrases import (
    read_file_passphrase,
    server_passphrase_file,
    unlock,
)

if TYPE_CHECKING:
    from fieldscreen.sync.server.storage import Storage

__all__ = ["add_commands", "check_address", "worker_app"]

_WORKER_ENV = "FIELDSCREEN_SERVER_WORKER"


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fieldscreen.sync.server.api import ServerConfig, create_app

    storage = open_storage(args)
    _initialised(storage)  # refuse to serve before init-org
    config = ServerConfig(max_body_bytes=args.max_body, rate=args.rate, burst=args.burst)
    check_address(args.host, args.port)
    passphrase_file = server_passphrase_file(args)
    if args.workers > 1 and not passphrase_file:
        raise ServerError("server-passphrase-needed")  # each process reads it from the file
    unlock(args, storage)  # the first start with a passphrase creates the receipt key
    storage.repos.keys.keys()
    print(
        f"fieldscreen-server {__version__} on http://{args.host}:{args.port}"
        f" ({args.workers} process{'es' if args.workers > 1 else ''})",
        file=sys.stderr,
    )
    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": "warning",
        "proxy_headers": True,
        "forwarded_allow_ips": args.forwarded_allow_ips,
        "access_log": False,
    }
    if args.workers > 1:
        # Several processes share the database, and with it the rate limits and request
        # nonces (fieldscreen/sync/server/gate.py): each worker builds its app from this.
        storage.close()
        os.environ[_WORKER_ENV] = json.dumps(
            {
                "db": args.db or default_db(),
                "passphrase_file": str(Path(passphrase_file or "").resolve()),
                "max_body": args.max_body,
                "rate": args.rate,
                "burst": args.burst,
            }
        )
        uvicorn.run(
            "fieldscreen.sync.server.cli:worker_app", factory=True, workers=args.workers, **common
        )
        return 0
    app = create_app(storage, config)
    _freeze_startup_objects()
    uvicorn.run(app, **common)
    return 0


def _initialised(storage: Storage) -> None:
    """Refuse before ``init-org``; a receipt key not made yet is made by the first unlock."""
    try:
        storage.repos.keys.keys()
    except ServerError as error:
        if error.code != "server-receipt-key-missing":
            raise


def check_address(host: str, port: int) -> None:
    """Refuse in words, before saying where it serves, an address the server cannot listen
    on: the port taken (another server still running), or the host no interface has."""
    if not 0 <= port <= 65535:
        raise ServerError(
            "server-address-bad", host=host, port=port, reason="ports go from 1 to 65535"
        )
    try:
        # The family of the address as uvicorn will resolve it (an IPv6 host is no error).
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        probe = socket.create_server((host, port), family=family[0][0])
    except OSError as error:
        code = "server-port-in-use" if error.errno == errno.EADDRINUSE else "server-address-bad"
        reason = os.strerror(error.errno) if error.errno and error.errno > 0 else error.strerror
        raise ServerError(code, host=host, port=port, reason=reason or "") from None
    probe.close()


def _freeze_startup_objects() -> None:
    """Move everything imported and built at startup out of the garbage collector's sight: the
    full collections that batches of envelopes trigger then walk only what requests made,
    not the hundreds of thousands of objects of the web framework and the database layer."""
    gc.collect()
    gc.freeze()


def worker_app() -> Any:
    """The app of one worker process of ``serve --workers N``."""
    from fieldscreen.sync.server.api import ServerConfig, create_app
    from fieldscreen.sync.server.storage import Storage

    settings = json.loads(os.environ[_WORKER_ENV])
    storage = Storage.open(
        settings["db"], passphrase=read_file_passphrase(settings["passphrase_file"])
    )
    _freeze_startup_objects()
    config = ServerConfig(
        max_body_bytes=settings["max_body"], rate=settings["rate"], burst=settings["burst"]
    )
    return create_app(storage, config)


def add_commands(add: AddCommand, parents: Parents) -> None:
    p = add("serve", cmd_serve, "run the server", parents.server_pass)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8470)
    p.add_argument("--max-body", type=int, default=8 * 1024 * 1024, help="bytes per request")
    p.add_argument("--rate", type=float, default=50.0, help="requests per second per caller")
    p.add_argument("--burst", type=int, default=200, help="requests a caller may make at once")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (they share the database's rate limits and request nonces)",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="reverse proxies whose X-Forwarded-* headers are trusted",
    )
