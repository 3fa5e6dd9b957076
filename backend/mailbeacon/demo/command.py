"""The `mailbeacon demo` command: start everything, print the page's URL (one line, nothing else), run until
Ctrl-C or SIGTERM, then stop everything and remove the demo's temporary data."""

from __future__ import annotations

import signal

import click

from .orchestrate import run_demo
from .sender import DemoError


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address of the demo page, the backend and the Google and Microsoft stand-ins.")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port of the demo page (default: any free port).")
@click.option("--open", "open_browser", is_flag=True, help="Also open the page in the default browser.")
def demo_command(host: str, port: int, open_browser: bool) -> None:
    """Try mailbeacon end to end on this machine: compose, send tracked, open, click, see it all."""
    from ..cli import UserError  # imported late: cli.py imports this module to register the command

    try:
        handle = run_demo(host=host, port=port, open_browser=open_browser)
    except DemoError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(handle.url)
    # Both handlers set explicitly: a process started in the background by a shell inherits SIGINT ignored, and
    # Ctrl-C must still end the demo.
    previous = {sig: signal.signal(sig, lambda _signum, _frame: handle.stop())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        handle.wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how this command is meant to end
    finally:
        handle.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
