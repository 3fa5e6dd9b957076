"""`mailbeacon demo`: the whole product on one machine, for a newcomer's first five minutes.

    handle = run_demo()          # stand-in Google and Microsoft, backend + in-process worker, two senders, the page
    print(handle.url)
    handle.stop()

The command line adds it with ``main.add_command(demo_command)``.
"""

from .command import demo_command
from .orchestrate import DemoHandle, run_demo
from .sender import DemoError

__all__ = ["DemoError", "DemoHandle", "demo_command", "run_demo"]
