"""WSGI entry point for servers (`granian --interface wsgi mailbeacon.wsgi:application`, gunicorn)."""

from . import create_app
from .config import Config
from .logs import configure_logging

_config = Config.from_env()
configure_logging(_config.log_level)
application = create_app(_config)
application.extensions["mailbeacon.pipeline"].start_background()
