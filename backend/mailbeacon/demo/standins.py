"""The demo's two stand-ins: Google (OAuth and Gmail REST) and Microsoft (identity platform and Graph, over TLS).

Each is set up as its real counterpart would be for a mailbeacon installation: the backend has an app
registration of its own (client id, secret, the backend's callback as its one redirect URI), the demo's people
have accounts, and the backend is pointed at the stand-ins only through its MAILBEACON_* settings. The Microsoft
stand-in speaks TLS with a CA made at its start; the backend trusts that CA through
MAILBEACON_MICROSOFT_CA_BUNDLE (its msal and Graph clients get it with trust_env off, as in the tests).
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from dataclasses import dataclass, field

from ..devservers.google import RunningStandin as RunningGoogle
from ..devservers.google import serve_google_standin
from ..devservers.microsoft import RunningStandin as RunningMicrosoft
from ..devservers.microsoft import serve_microsoft_standin
from ..devservers.microsoft_directory import AppRegistration, stable_guid
from .outbox import outlook_account

# The demo's stand-in Chrome extension: 32 letters a-p, like every Chrome extension id.
DEMO_EXTENSION_ID = ("mbdemo" * 6)[:32]
DEMO_CLIENT_ID = "mailbeacon-demo.apps.googleusercontent.com"
DEMO_MICROSOFT_CLIENT_ID = stable_guid("app", "mailbeacon-demo")
DEMO_SENDER = "alex.sender@example.com"  # one of the Google stand-in's own accounts
# Contoso is one of the Microsoft stand-in's tenants, so Jordan has a work account as most Outlook users do.
DEMO_OUTLOOK_SENDER = "jordan.sender@contoso.onmicrosoft.com"
DEMO_OUTLOOK_SENDER_NAME = "Jordan Sender"
DEMO_RECIPIENT = "sam.recipient@example.net"


@dataclass
class StandIns:
    google: RunningGoogle
    microsoft: RunningMicrosoft
    _google_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    _microsoft_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)

    def backend_env(self) -> dict[str, str]:
        """The MAILBEACON_* settings that make the backend use these stand-ins instead of Google and Microsoft."""
        return {
            "MAILBEACON_GOOGLE_CLIENT_ID": DEMO_CLIENT_ID,
            "MAILBEACON_GOOGLE_CLIENT_SECRET": self._google_secret,
            "MAILBEACON_GOOGLE_ISSUER": self.google.base_url,
            "MAILBEACON_GMAIL_API_URL": self.google.base_url + "/",
            "MAILBEACON_EXTENSION_IDS": DEMO_EXTENSION_ID,
            "MAILBEACON_MICROSOFT_CLIENT_ID": DEMO_MICROSOFT_CLIENT_ID,
            "MAILBEACON_MICROSOFT_CLIENT_SECRET": self._microsoft_secret,
            "MAILBEACON_MICROSOFT_AUTHORITY": self.microsoft.base_url,
            "MAILBEACON_MICROSOFT_GRAPH_URL": self.microsoft.graph_url,
            "MAILBEACON_MICROSOFT_CA_BUNDLE": self.microsoft.ca_bundle,
        }

    def register_backend(self, backend_url: str) -> None:
        """The app registrations an administrator makes for the backend, once its address is known."""
        self.google.state.register_client(DEMO_CLIENT_ID, self._google_secret, name="mailbeacon demo",
                                          redirect_uris=[f"{backend_url}/auth/google/callback"])
        ms = self.microsoft.state
        with ms.lock:
            home = ms.directory.find_tenant(DEMO_OUTLOOK_SENDER.rpartition("@")[2])
            ms.directory.register_app(AppRegistration(
                client_id=DEMO_MICROSOFT_CLIENT_ID, display_name="mailbeacon demo",
                client_secrets=(self._microsoft_secret,),
                redirect_uris=(f"{backend_url}/auth/microsoft/callback",),
                app_id_uri=f"api://{DEMO_MICROSOFT_CLIENT_ID}", home_tenant_id=home.id if home else None))

    def add_people(self) -> None:
        """Jordan's Outlook account, and the recipient's, who already has one in the Google stand-in."""
        outlook_account(self.microsoft.state, DEMO_OUTLOOK_SENDER, DEMO_OUTLOOK_SENDER_NAME)
        recipient = self.google.state.user(DEMO_RECIPIENT)
        outlook_account(self.microsoft.state, DEMO_RECIPIENT, recipient.name if recipient else None)


def start_standins(stack: ExitStack, host: str) -> StandIns:
    """Both stand-ins on free ports of ``host``, approving sign-ins at once (a person clicking Allow)."""
    google = serve_google_standin(host, 0, auto_approve=True)
    stack.callback(google.stop)
    microsoft = serve_microsoft_standin(host, 0, auto_approve=True)
    stack.callback(microsoft.stop)  # also removes the folder holding its CA
    standins = StandIns(google, microsoft)
    standins.add_people()
    return standins
