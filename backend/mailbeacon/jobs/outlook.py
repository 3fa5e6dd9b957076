"""RQ jobs for Outlook: send through Graph, find a natively sent copy, set the "Opened" category, and the
scheduled sweep over prepared messages. Each takes ids (or nothing) and reloads everything."""

from __future__ import annotations

from ..services.microsoft_tokens import graph_provider_for
from . import context

SWEEP_EVERY_SECONDS = 60


def send_outlook_message(message_id: int) -> str:
    from ..services.send_graph import send_tracked_graph

    return send_tracked_graph(context.current_runtime(), message_id, provider_for=graph_provider_for)


def find_outlook_sent_copy(message_id: int) -> str:
    """Right after the add-in says Outlook sent it: look now, and again on the runner's retry schedule."""
    from ..services.outlook_prepare import find_sent_copy

    return find_sent_copy(context.current_runtime(), message_id, provider_for=graph_provider_for, retry=True)


def set_opened_category(message_id: int) -> str:
    from ..services.outlook_categories import set_opened_category as set_category

    return set_category(context.current_runtime(), message_id, provider_for=graph_provider_for)


def sweep_prepared_outlook() -> dict:
    """Scheduled: look for the sent copies of prepared messages that are due; abandon those older than a day."""
    from ..services.outlook_prepare import sweep_prepared

    return sweep_prepared(context.current_runtime(), provider_for=graph_provider_for)
