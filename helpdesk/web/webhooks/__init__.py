"""Provider webhooks: verify the provider's signature, hand over to the ticket service.

CSRF-exempt (registered in ``create_app``): the signature is what authenticates them.
"""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from helpdesk.web.webhooks import twilio  # noqa: E402, F401  (registers the routes)
