"""commands/commands.js, the add-in's event runtime for classic Outlook on Windows, assembled from its modules.

Classic Outlook loads that one file on its own, in a JavaScript-only runtime with no DOM and no <script> tags, so it
has to carry the lib/ modules the send handler uses. Each module registers itself on `globalThis.mailbeacon` and
uses only the ones registered before it, so the bundle is simply the modules of EVENT_RUNTIME_PARTS one after
another, unchanged: still plain JavaScript, put together by the backend that serves it instead of committed as a
second copy of the modules.
"""

from __future__ import annotations

from collections.abc import Mapping

EVENT_RUNTIME = "commands/commands.js"
# In load order: a module comes after every module it uses.
EVENT_RUNTIME_PARTS = (
    "lib/i18n.js",
    "lib/text.js",
    "lib/body-check.js",
    "lib/office.js",
    "lib/storage.js",
    "lib/api.js",
    "lib/auth.js",
    "lib/choice.js",
    "commands/send-flow.js",
)


class MissingModules(LookupError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"the event runtime's modules are missing: {', '.join(missing)}")
        self.missing = missing


def event_runtime(files: Mapping[str, bytes]) -> bytes:
    """The parts' bytes in order, given every add-in file by its path. A part lacking its last newline gets one,
    so a trailing line comment can't swallow the first line of the next part."""
    missing = [part for part in EVENT_RUNTIME_PARTS if part not in files]
    if missing:
        raise MissingModules(missing)
    pieces = []
    for part in EVENT_RUNTIME_PARTS:
        body = files[part]
        pieces.append(body if body.endswith(b"\n") else body + b"\n")
    return b"".join(pieces)
