"""mailbeacon: honest email open- and click-tracking."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from .config import Config

__version__ = "0.1.0"


def create_app(config: "Config | None" = None) -> "Flask":
    """The app factory. Nothing connects at import time; the database is opened on first use."""
    from .web.app import build_app

    return build_app(config)
