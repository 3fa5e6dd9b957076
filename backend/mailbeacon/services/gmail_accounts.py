"""Building a Gmail provider for a connected account, from the encrypted refresh token and config."""

from __future__ import annotations

from ..providers.gmail import GmailProvider
from ..runtime import Runtime
from ..storage.models import MailAccount
from .google_signin import GoogleSignIn


def gmail_provider_for(rt: Runtime, account: MailAccount) -> GmailProvider:
    signin = GoogleSignIn(rt)
    return GmailProvider(refresh_token=rt.secrets.decrypt(account.encrypted_secret),
                         client_id=rt.config.google_client_id, client_secret=rt.config.google_client_secret,
                         token_uri=signin.metadata()["token_endpoint"], api_url=rt.config.gmail_api_url)
