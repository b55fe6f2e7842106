"""The webhook side (the spec's Node.js service, in Python): WhatsApp in, ``ag_queue`` out,
``wb_queue`` in, WhatsApp out, plus the dead-letter handling and a local WhatsApp sandbox.
"""

from webhook.app import create_app
from webhook.classifier import classify, priority_for
from webhook.events import InboundText, parse_event, signature_ok
from webhook.sandbox import Sandbox, inbound_event
from webhook.service import WebhookService, WebhookStack, start_webhook_stack
from webhook.store import Store
from webhook.wasender import WasenderClient

__all__ = [
    "InboundText",
    "Sandbox",
    "Store",
    "WasenderClient",
    "WebhookService",
    "WebhookStack",
    "classify",
    "create_app",
    "inbound_event",
    "parse_event",
    "priority_for",
    "signature_ok",
    "start_webhook_stack",
]
