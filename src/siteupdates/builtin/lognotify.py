"""A notifier that writes notices to the ``siteupdates.notices`` logger.

It answers last, so any other notifier (mail, chat) is asked first. It delivers
only where someone can read it: when the logger has a handler that shows INFO
(the command line installs one on standard error; a host configures logging
its own way). Otherwise it declines, so the notice stays pending instead of
being marked delivered into the void. The library itself only adds a
``NullHandler`` to the ``siteupdates`` logger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from siteupdates.hookspecs import hookimpl

if TYPE_CHECKING:
    import logging

    from siteupdates.domain.messages import Notice
    from siteupdates.notices import DeliveryAttempt

#: ``logging.INFO``, without importing logging for a command that sends no notice.
INFO = 20


def shown(log: logging.Logger, level: int = INFO) -> bool:
    """Whether a record of ``level`` on ``log`` reaches a handler that is not a NullHandler."""
    import logging

    if not log.isEnabledFor(level):
        return False
    current: Optional[logging.Logger] = log
    while current is not None:
        for h in current.handlers:
            if not isinstance(h, logging.NullHandler) and level >= h.level:
                return True
        if not current.propagate:
            break
        current = current.parent
    return False


class LogNotifier:
    """Logs each notice at INFO: key, recipient, subject and body."""

    @hookimpl(trylast=True)
    def siteupdates_deliver_notice(
        self, notice: Notice, attempt: DeliveryAttempt
    ) -> Optional[bool]:
        """Log the notice where it is shown; decline (None) when no handler would show it."""
        from siteupdates.logs import logger as named

        logger = named("siteupdates.notices")
        if not shown(logger):
            return None
        attempt.commit()
        to = f"{notice.contact_name} <{notice.email}>" if notice.contact_name else notice.email
        body = "\n".join(f"    {line}" for line in notice.body.splitlines())
        logger.info(
            "notice %s to %s: %s\n%s", notice.key, to, notice.subject, body,
            extra={"siteupdates_notice": notice},
        )  # fmt: skip
        return True
