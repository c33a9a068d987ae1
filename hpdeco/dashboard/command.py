"""The ``hpdeco dashboard`` command: its options, and :func:`serve`, which binds the server
(loopback unless told otherwise, loudly) and serves until Ctrl+C."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import math
import socket
import sys
import threading
import webbrowser
from typing import TextIO

from hpdeco.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8750
DEFAULT_POLL_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The dashboard's own options (``--store`` comes with every command)."""
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"the address to listen on (default {DEFAULT_HOST}: this machine only)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the port (default {DEFAULT_PORT}; 0 takes any free port and prints it)",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.add_argument(
        "--poll",
        type=float,
        default=DEFAULT_POLL_S,
        metavar="SECONDS",
        help=f"how often the page asks for new trials and epochs (default {DEFAULT_POLL_S:g})",
    )


def cmd_dashboard(args: argparse.Namespace, out: TextIO) -> int:
    from hpdeco.cli.options import store_path

    return serve(
        store_path(args), host=args.host, port=args.port, open_browser=args.open,
        poll_s=args.poll, out=out,
    )  # fmt: skip


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    store: str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open_browser: bool = False,
    poll_s: float = DEFAULT_POLL_S,
    out: TextIO | None = None,
) -> int:
    """Serve the dashboard of ``store`` (a SQLite path or a ``postgresql://`` URL) until
    Ctrl+C; returns the exit status (0)."""
    from hpdeco.cli.options import open_existing_store
    from hpdeco.dashboard.server import DashboardServer
    from hpdeco.store import redact

    out = sys.stdout if out is None else out
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(
            f"--port {port!r} is not a port; pass 1 to 65535, or 0 to take any free port"
        )
    if not (isinstance(poll_s, (int, float)) and math.isfinite(poll_s) and poll_s >= 0.1):
        raise ConfigError(
            f"--poll {poll_s!r}: the page needs at least 0.1 seconds between polls; "
            f"pass a number of seconds such as {DEFAULT_POLL_S:g} (the default)"
        )
    open_existing_store(store).close()  # a missing or foreign store fails here, not per page
    host = host.strip().strip("[]")
    try:
        server = DashboardServer((host, port), store, poll_s=poll_s, log=sys.stderr)
    except socket.gaierror as exc:
        raise ConfigError(
            f"--host {host!r} is not an address of this machine ({exc.strerror}); pass an "
            f"address such as {DEFAULT_HOST} (the default) or 0.0.0.0"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"--port {port} is in use on {host} (another dashboard, or another server?); "
                "pass another --port, or --port 0 to take any free port"
            ) from None
        if exc.errno == errno.EACCES:
            raise ConfigError(
                f"--port {port}: this user may not listen on it (ports below 1024 need "
                f"privileges); pass a port above 1023 such as {DEFAULT_PORT}"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                f"--host {host!r} is not an address of this machine; pass {DEFAULT_HOST} "
                "(the default) or one of this machine's addresses"
            ) from None
        raise ConfigError(f"--host {host!r} --port {port}: cannot listen ({exc})") from None
    bound = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    if not is_loopback(host):
        print(
            f"WARNING: hpdeco dashboard: --host {host} serves every study in this store to "
            "any machine that can reach this one, with no login. Leave --host out (it "
            f"defaults to {DEFAULT_HOST}, this machine only) unless you mean it.",
            file=sys.stderr,
            flush=True,
        )
    print(
        f"hpdeco dashboard: {redact(store)} at {url} (read-only; Ctrl+C stops it)",
        file=out,
        flush=True,
    )
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        print("hpdeco dashboard: stopped", file=out, flush=True)
    finally:
        server.server_close()
    return 0


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "add_arguments", "cmd_dashboard", "is_loopback", "serve"]
