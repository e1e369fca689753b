"""The notifier contract fails notifiers that are wrong in the ways it is there to catch."""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from siteupdates.errors import DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from siteupdates.hookspecs import hookimpl
from siteupdates.notices import DeliveryAttempt, Notice
from siteupdates.testing import NotifierContract, Received


class _Channel:
    """A notifier on a list in memory; ``flaw`` names how it is wrong ("none": it is not)."""

    def __init__(self, flaw: str) -> None:
        self.flaw = flaw
        self.sent: List[Received] = []
        self.down: Optional[str] = None

    @hookimpl
    def siteupdates_deliver_notice(self, notice: Notice, attempt: DeliveryAttempt) -> bool:
        if self.down == "permanent":
            if self.flaw == "permanent-as-temporary":
                raise TemporaryDeliveryError("unknown mailbox")
            raise PermanentDeliveryError("unknown mailbox")
        if self.down == "temporary":
            if self.flaw == "crashes":
                raise TypeError("'NoneType' object is not subscriptable")
            if self.flaw == "temporary-as-permanent":
                raise PermanentDeliveryError("server down")
            raise ConnectionRefusedError("server down")
        if self.flaw != "sends-without-commit":
            attempt.commit()
        to = (
            notice.email
            if self.flaw == "drops-the-name"
            else f"{notice.contact_name} <{notice.email}>"
        )
        self.sent.append(Received(notice.key, to, notice.subject, notice.body))
        return True


def _run(flaw: str, name: str) -> None:
    """Run one test of the contract against a fresh ``_Channel(flaw)``."""
    suite = NotifierContract()
    channel = _Channel(flaw)

    def failing(kind: str) -> Callable[[], Any]:
        @contextmanager
        def down() -> Iterator[None]:
            channel.down = kind
            yield
            channel.down = None

        return down

    offered: Dict[str, Any] = {
        "notifier": channel,
        "received": lambda: list(channel.sent),
        "permanent_failure": failing("permanent"),
        "temporary_failure": failing("temporary"),
    }
    test = getattr(suite, name)
    test(**{p: offered[p] for p in inspect.signature(test).parameters})


CONTRACT = sorted(n for n in dir(NotifierContract) if n.startswith("test_"))

FLAWS: Dict[str, Tuple[str, ...]] = {
    "crashes": ("test_a_temporary_failure_is_not_reported_as_permanent",),
    "temporary-as-permanent": ("test_a_temporary_failure_is_not_reported_as_permanent",),
    "permanent-as-temporary": ("test_a_permanent_failure_is_reported_as_permanent",),
    "sends-without-commit": (
        "test_a_given_up_attempt_sends_nothing",
        "test_an_attempt_whose_claim_was_lost_sends_nothing",
    ),
    "drops-the-name": ("test_a_notice_reaches_the_contact_by_name_with_its_text",),
}


@pytest.mark.parametrize(("flaw", "name"), [(f, n) for f in sorted(FLAWS) for n in FLAWS[f]])
def test_the_notifier_contract_fails_a_notifier_that_is_wrong(flaw: str, name: str) -> None:
    # How a contract test fails: an assert, pytest.raises not satisfied, or the
    # wrong kind of delivery error escaping pytest.raises(PermanentDeliveryError).
    with pytest.raises((AssertionError, pytest.fail.Exception, DeliveryError)):
        _run(flaw, name)


@pytest.mark.parametrize("name", CONTRACT)
def test_a_correct_notifier_passes_every_test_of_the_contract(name: str) -> None:
    _run("none", name)
