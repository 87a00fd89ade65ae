"""Errors the ticket service raises for callers to turn into a 4xx, a form message or a log line."""


class TicketError(Exception):
    """A request the ticket rules refuse; the message says why in words a user understands."""


class InvalidInput(TicketError):
    """Input that can never be accepted as given (a malformed address, an empty reply)."""
