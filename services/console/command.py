"""`newswire console` and `newswire demo --console`: serve the console with uvicorn on a socket bound here."""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import webbrowser
from types import FrameType
from typing import Annotated
from urllib.parse import urlsplit

import typer

from newswire.runtime.settings import Settings, StreamKeys


class ConsolePortInUse(Exception):
    """The console's address is taken; the message says which and what to do."""


def console(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default NEWSWIRE_CONSOLE_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=0, max=65535, help="Port to listen on (default NEWSWIRE_CONSOLE_PORT, 8600; 0 picks a free one)."
        ),
    ] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the console in a web browser.")] = False,
) -> None:
    """Serve the web console: the pipeline live, published articles, dead letters.

    Read-only unless NEWSWIRE_CONSOLE_TOKEN is set; then a signed-in operator may replay and purge dead letters.
    """
    from newswire.cli.main import fail, settings_or_exit, with_redis

    settings = settings_or_exit()
    overrides = {k: v for k, v in (("console_host", host), ("console_port", port)) if v is not None}
    settings = settings.model_copy(update=overrides)
    try:
        with_redis(settings, lambda url: serve(settings, url, open_browser=open_browser))
    except ConsolePortInUse as exc:
        raise fail(str(exc), code=2) from None


def serve(settings: Settings, url: str, *, open_browser: bool = False) -> None:
    """Serve the console for the Redis at `url` until SIGINT or SIGTERM."""
    import uvicorn

    from newswire.console.access import ConsoleAccess
    from newswire.console.app import ConsoleConfig, create_app
    from newswire.runtime.connection import sync_client

    token = settings.console_token.get_secret_value() if settings.console_token else None
    config = ConsoleConfig(
        client_factory=lambda: sync_client(url, socket_timeout=10, health_check_interval=30),
        settings=settings,
        keysets=stream_sets(settings),
        access=ConsoleAccess(token),
        redis_label=redis_label(settings),
    )
    listener = bind(settings.console_host, settings.console_port)
    address = f"http://{_url_host(settings.console_host)}:{listener.getsockname()[1]}/"
    mode = "sign in to replay and purge" if token else "read-only (set NEWSWIRE_CONSOLE_TOKEN to replay and purge)"
    typer.echo(f"newswire console: {address}  ·  {config.redis_label}  ·  {mode}  ·  Ctrl-C stops it", err=True)
    if not _is_loopback(settings.console_host):
        typer.echo(
            f"newswire console: listening on {settings.console_host}, beyond this machine, over plain HTTP; "
            "put a TLS proxy in front before anyone signs in from elsewhere",
            err=True,
        )
    if open_browser and _has_graphical_browser():
        webbrowser.open(address)
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_config=None, access_log=False, timeout_graceful_shutdown=2)
    )
    # uvicorn shuts down on SIGTERM, then raises the signal again for the handler it found: make that an
    # ordinary exit, so the embedded Redis and the demo's workers are stopped by their own cleanup.
    previous = signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        server.run(sockets=[listener])
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_demo(settings: Settings, url: str) -> None:
    """After the demo: keep every stage running on the demo's streams in a child process and serve the console."""
    environment = {
        # The demo's ingest API on a free port unless one is set: a taken default port must not stop the demo.
        "NEWSWIRE_INGEST_PORT": "0",
        **os.environ,
        "NEWSWIRE_REDIS_URL": url,
        "NEWSWIRE_PREFIX": settings.prefix,
        "NEWSWIRE_HTTP_PORT": "0",
        "NEWSWIRE_LOG_LEVEL": "WARNING",
    }
    workers = subprocess.Popen([sys.executable, "-m", "newswire.cli", "run", "all"], env=environment)
    typer.echo(
        f"newswire demo: the pipeline keeps running on the demo streams; publish more with "
        f"`NEWSWIRE_PREFIX={settings.prefix} newswire publish FILE`",
        err=True,
    )
    try:
        serve(settings, url, open_browser=True)
    finally:
        if workers.poll() is None:
            workers.send_signal(signal.SIGTERM)
        try:
            workers.wait(timeout=settings.shutdown_timeout_s + 10)
        except subprocess.TimeoutExpired:
            workers.kill()
            workers.wait()


def _exit_quietly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or ConsolePortInUse with one clear sentence."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConsolePortInUse(
                f"port {port} on {host} is taken; set NEWSWIRE_CONSOLE_PORT (or --port) to another one, or 0"
            ) from None
        raise ConsolePortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    listener.listen(128)
    listener.set_inheritable(False)
    return listener


def stream_sets(settings: Settings) -> list[StreamKeys]:
    """Every stream set the pipeline uses (one per partition when the settings know partitions)."""
    partition_keys = getattr(settings, "partition_keys", None)
    return list(partition_keys()) if callable(partition_keys) else [settings.keys]


def redis_label(settings: Settings) -> str:
    """How the page names the Redis it reads: host, port and database only, never a user name or password."""
    if settings.redis_url is None:
        return "embedded Redis"
    parts = urlsplit(settings.redis_url.get_secret_value())
    if parts.scheme == "unix":
        return f"Redis at unix:{parts.path}"
    # Everything before the last `@` is user name and password; the query may hold a password too.
    hosts = parts.netloc.rpartition("@")[2]
    return f"Redis at {parts.scheme}://{hosts}{parts.path}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _has_graphical_browser() -> bool:
    """A desktop session to open a browser in: not on a server or in a container, where the URL printed is enough."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
