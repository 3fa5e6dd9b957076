"""Running the WSGI app on a fast server (granian, Rust) with the settings the command line chose."""

from __future__ import annotations

from .config import Config


def run_server(config: Config, *, workers: int = 1) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    server = Granian(
        "mailbeacon.wsgi:application",
        address=config.host,
        port=config.port,
        interface=Interfaces.WSGI,
        workers=max(1, workers),
        log_access=False,
    )
    server.serve()
