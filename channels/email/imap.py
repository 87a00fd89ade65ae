"""One IMAP folder as the ingester sees it: UIDs after a checkpoint, bodies without \\Seen."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from channels.email.tls import certificate_refusal, tls_context

SEEN = b"\\Seen"


class ImapError(Exception):
    """The server refused or dropped us; the message says what happened."""


def _said(error: Exception) -> str:
    """The server's words, not the bytes repr imaplib wraps them in; or why TLS was refused."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return certificate_refusal(error)
    text = str(error)
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        return text[2:-1]
    return text


@dataclass(frozen=True, slots=True)
class ImapSettings:
    host: str
    port: int
    security: str  # none | starttls | tls
    user: str
    password: str
    folder: str = "INBOX"
    processed_folder: str | None = None
    ca_file: str | None = None  # extra certificate authorities to trust (an in-house CA)
    timeout: float = 60.0


class ImapFolder:
    """A logged-in connection with one folder selected; use it as a context manager."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.uidvalidity = 0
        self._client: IMAPClient | None = None

    def __enter__(self) -> ImapFolder:
        settings = self.settings
        try:
            context = None if settings.security == "none" else tls_context(settings.ca_file)
            client = IMAPClient(
                settings.host,
                port=settings.port,
                ssl=settings.security == "tls",
                ssl_context=context,
                timeout=settings.timeout,
            )
            if settings.security == "starttls":
                client.starttls(context)
            client.login(settings.user, settings.password)
            selected = client.select_folder(settings.folder)
        except (IMAPClientError, OSError) as error:
            raise ImapError(f"{settings.host}:{settings.port}: {_said(error)}") from error
        self._client = client
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._client is not None:
            # A connection that is gone already has nothing of ours pending on it.
            with suppress(IMAPClientError, OSError):
                self._client.logout()
            self._client = None

    @property
    def client(self) -> IMAPClient:
        assert self._client is not None, "use ImapFolder as a context manager"
        return self._client

    def uids_after(self, last_uid: int) -> list[int]:
        """Every UID above the checkpoint, read or unread (another client may have read it)."""
        # "n:*" always includes the highest UID even when it is below n: filter it out.
        found = self.client.search(["UID", f"{last_uid + 1}:*"])
        return sorted(uid for uid in found if uid > last_uid)

    def unprocessed_upto(self, last_uid: int) -> list[int]:
        """Committed UIDs not yet flagged or moved (we died between commit and that step)."""
        if last_uid < 1:
            return []
        criteria = ["UID", f"1:{last_uid}"]
        if not self.settings.processed_folder:
            criteria.append("UNSEEN")
        return sorted(uid for uid in self.client.search(criteria) if uid <= last_uid)

    def fetch(self, uids: Iterable[int]) -> dict[int, bytes]:
        """Raw messages by UID; BODY.PEEK leaves \\Seen alone until we have committed."""
        answer = self.client.fetch(list(uids), ["BODY.PEEK[]"])
        return {uid: data[b"BODY[]"] for uid, data in answer.items() if b"BODY[]" in data}

    def mark_processed(self, uids: list[int]) -> None:
        """Flag as seen, or move to the processed folder when one is set."""
        if not uids:
            return
        target = self.settings.processed_folder
        if not target:
            self.client.add_flags(uids, [SEEN], silent=True)
            return
        if not self.client.folder_exists(target):
            self.client.create_folder(target)
        if self.client.has_capability("MOVE"):
            self.client.move(uids, target)
        else:
            self.client.copy(uids, target)
            self.client.delete_messages(uids, silent=True)
            self.client.uid_expunge(uids)

    @property
    def supports_idle(self) -> bool:
        return self.client.has_capability("IDLE")

    def wait_for_mail(self, timeout: float) -> bool:
        """IDLE until the server announces new mail (True) or ``timeout`` passes (False)."""
        self.client.idle()
        try:
            responses = self.client.idle_check(timeout=timeout)
        finally:
            self.client.idle_done()
        return any(len(item) > 1 and item[1] in (b"EXISTS", b"RECENT") for item in responses)
