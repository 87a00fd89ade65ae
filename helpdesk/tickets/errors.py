"""Errors the ticket service raises for callers to turn into a 4xx, a form message or a log line."""


class TicketError(Exception):
    """A request the ticket rules refuse; the message says why in words a user understands."""


class InvalidInput(TicketError):
    """Input that can never be accepted as given (a malformed address, an empty reply)."""


class InvalidRule(InvalidInput):
    """A stage or routing rule that cannot be saved; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
