"""The email channel: MIME parsing, loop detection, IMAP intake and SMTP sending.

Nothing here knows of Flask or the database; ``helpdesk.mail`` wires it to the ticket service.
"""
