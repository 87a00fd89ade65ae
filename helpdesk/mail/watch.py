"""IMAP IDLE: one listener thread per mailbox wakes the worker's mailbox job on new mail.

A listener only listens; the fetch itself runs in the worker under the mailbox lease, so a
listener that dies or a server without IDLE only means the poll interval applies.
"""

from __future__ import annotations

import logging
import threading

from imapclient.exceptions import IMAPClientError

from channels.email.imap import ImapError, ImapFolder, ImapSettings
from helpdesk.mail.mailboxes import UnreadablePassword, imap_settings, list_mailboxes

# Re-IDLE this often: well inside RFC 2177's 29 minutes, and a stop is noticed this fast.
IDLE_SECONDS = 10.0
RECONNECT_SECONDS = 30.0

log = logging.getLogger(__name__)


def listen_for_mail(wake: threading.Event, stop: threading.Event) -> list[threading.Thread]:
    """Start a daemon listener for every enabled mailbox; needs an app context."""
    threads = []
    for mailbox in list_mailboxes():
        if mailbox.enabled:
            try:
                settings = imap_settings(mailbox)
            except UnreadablePassword as error:
                # Not fatal: the mailbox's poll shows the error on it until the password is fixed.
                log.warning("not listening on %s: %s", mailbox.address, error)
                continue
            thread = threading.Thread(
                target=_listen,
                args=(settings, wake, stop),
                name=f"idle {mailbox.address}",
                daemon=True,
            )
            thread.start()
            threads.append(thread)
    return threads


def _listen(settings: ImapSettings, wake: threading.Event, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with ImapFolder(settings) as folder:
                if not folder.supports_idle:
                    return  # polling it is
                # Mail may have come while we were (re)connecting; the server reports anything
                # after our SELECT at the first IDLE, so nothing falls in between.
                wake.set()
                while not stop.is_set():
                    if folder.wait_for_mail(IDLE_SECONDS):
                        wake.set()
        except (ImapError, IMAPClientError, OSError) as error:
            log.warning("IDLE on %s failed, retrying: %s", settings.host, error)
            stop.wait(RECONNECT_SECONDS)
