"""Privacy: an admin exports everything held about a customer, or erases it.

``holdings`` finds the customer's rows in every table that keeps something about them;
``export`` packs them into a zip with their files; ``erasure`` removes what is personal and
keeps the tickets as anonymous rows for the reports.
"""

from helpdesk.privacy.erasure import AlreadyErased, Erasure, confirms_erasure, erase_customer
from helpdesk.privacy.export import export_customer
from helpdesk.privacy.holdings import Holdings, holdings_of

__all__ = [
    "AlreadyErased",
    "Erasure",
    "Holdings",
    "confirms_erasure",
    "erase_customer",
    "export_customer",
    "holdings_of",
]
