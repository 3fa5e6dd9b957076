"""WSGI entry point for servers (`granian --interface wsgi mailbeacon.wsgi:application`, gunicorn)."""

from . import create_app
from .config import Config
from .logs import configure_logging

_config = Config.from_env()
configure_logging(_config.log_level)
application = create_app(_config)
application.extensions["mailbeacon.pipeline"].start_background()
if _config.embedded_queue:
    import logging

    from .services.send_gmail import resume_unfinished_sends

    try:
        resume_unfinished_sends(application.extensions["mailbeacon"])
    except Exception:  # a database that isn't up yet must not stop the server from starting
        logging.getLogger(__name__).exception("could not resume unfinished sends")
