"""A notifier that writes notices to the ``siteupdates.notices`` logger.

It answers last, so any other notifier (mail, chat) is asked first.
"""

from __future__ import annotations

import logging

from siteupdates.domain.messages import Notice
from siteupdates.hookspecs import hookimpl

logger = logging.getLogger("siteupdates.notices")


class LogNotifier:
    """Logs each notice at INFO with its key, recipient and subject."""

    @hookimpl(trylast=True)
    def siteupdates_deliver_notice(self, notice: Notice) -> bool:
        """Log the notice; always succeeds."""
        logger.info("notice %s to %s: %s", notice.key, notice.email, notice.subject)
        return True
