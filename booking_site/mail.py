"""Mail written to files, one `.eml` per message, with one line per message in the log: what
`make run` uses, so a demo's mails can be opened in any mail client without burying the
console under raw MIME. Set `MAIL_DIR` to use it."""

from __future__ import annotations

import itertools
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("booking.mail")
_counter = itertools.count(1)
_lock = threading.Lock()


class FileEmailBackend(BaseEmailBackend):
    """Each message as `<MAIL_DIR>/<UTC time>-<pid>-<n>.eml`."""

    def send_messages(self, email_messages) -> int:
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            with _lock:
                number = next(_counter)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            path = folder / f"{stamp}-{os.getpid()}-{number:04d}.eml"
            path.write_bytes(message.message().as_bytes())
            line = f"mail to {', '.join(message.recipients())}: {message.subject} -> {path}"
            logger.info(line)
            print(line, flush=True)  # noqa: T201 - the one line a demo shows per message
            sent += 1
        return sent
