"""The email channel inside the app: mailbox administration, IMAP intake and SMTP settings."""
