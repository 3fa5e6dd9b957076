"""WSGI entry point for servers (`granian --interface wsgi mailbeacon.wsgi:application`, gunicorn)."""

from . import create_app

application = create_app()
