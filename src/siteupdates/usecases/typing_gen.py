"""Write :mod:`siteupdates.usecases.typed`: the static types of the handles, from the catalog.

The actor handles' methods are made at import from the declarations, which a
type checker cannot follow; this module writes the same signatures as protocol
classes that the handles inherit when type-checked. Run
``python -m siteupdates.usecases.typing_gen`` after changing a declaration; a
test fails while the committed file differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Sequence

from .declare import REQUIRED, Param, Role, UseCase

__all__ = ["render", "write"]

TARGET = Path(__file__).with_name("typed.py")

_IMPORTS = '''\
"""The static types of the actor handles and of the deprecated flat ``Desk`` methods.

Written by :mod:`siteupdates.usecases.typing_gen` from the declarations of
:mod:`siteupdates.usecases.catalog`: do not edit by hand. At run time the
methods are made from the same declarations (``siteupdates.service``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

if TYPE_CHECKING:
    from siteupdates.app.bulk import BulkResult
    from siteupdates.app.contact import Gadget, Submission
    from siteupdates.app.health import Health
    from siteupdates.app.executors import (
        DispatchReport,
        Execution,
        Report,
        Run,
        RunDispatcher,
        Ticket,
    )
    from siteupdates.app.outbox import DeliveryReport, Dispatcher
    from siteupdates.app.reference import SetupReport
    from siteupdates.app.planning import PlanRun, WhatIf
    from siteupdates.app.staged import StagedSubmission
    from siteupdates.domain.lifecycle import HistoryEntry
    from siteupdates.domain.model import Catalog, Contact, Status, Tenant, UpdateRequest
    from siteupdates.domain.planner import Explanation
    from siteupdates.domain.policies import Decision, RequestDraft
    from siteupdates.domain.preset import ProviderPreset
    from siteupdates.domain.timeutil import Ambiguity
    from siteupdates.domain.views import Overview
    from siteupdates.ports import AuditEntry, OutboxEvent, OutboxItem, Page, Setup

__all__ = ["ContactAPI", "LegacyDeskAPI", "OpsAPI", "ProviderAPI"]
'''


def _default(p: Param) -> str:
    return "" if p.default is REQUIRED else " = ..."


def _params(params: Sequence[Param], positional: Sequence[str]) -> str:
    parts: List[str] = ["self"]
    star = False
    for p in params:
        if p.name not in positional and not star:
            parts.append("*")
            star = True
        parts.append(f"{p.name}: {p.kind.annotation}{_default(p)}")
    return ", ".join(parts)


def _method(name: str, uc: UseCase, params: Sequence[Param], positional: Sequence[str]) -> str:
    doc = uc.doc.strip().splitlines()[0].replace('"""', "'''")
    return (
        f"    def {name}({_params(params, positional)}) -> {uc.result}:\n"
        f'        """{doc}"""\n'
        f"        raise NotImplementedError\n"
    )


def render(catalog: Sequence[UseCase]) -> str:
    """The text of :mod:`siteupdates.usecases.typed` for ``catalog``."""
    from .declare import Kind

    out = [_IMPORTS]
    names = {Role.CONTACT: "ContactAPI", Role.PROVIDER: "ProviderAPI", Role.OPS: "OpsAPI"}
    for actor, cls in names.items():
        out.append(f"\n\nclass {cls}:\n")
        out.append(f'    """The {actor.value} handle\'s use cases."""\n')
        for uc in catalog:
            if uc.actor is actor:
                positional = [p.name for p in uc.params if p.positional]
                out.append("\n" + _method(uc.name, uc, uc.params, positional))
    out.append("\n\nclass LegacyDeskAPI:\n")
    out.append('    """The flat methods of 0.2, deprecated: use the actor handles."""\n')
    contact = Param("contact_id", Kind(lambda n, v: v, {}, "str"), "the contact")
    for uc in sorted(catalog, key=lambda u: u.legacy.name if u.legacy else ""):
        if uc.legacy is None:
            continue
        params = [contact, *uc.params] if uc.actor is Role.CONTACT else list(uc.params)
        out.append("\n" + _method(uc.legacy.name, uc, params, uc.legacy.positional))
    return "".join(out)


def write() -> bool:
    """Write the file; True when it changed."""
    from .catalog import CATALOG

    text = render(CATALOG)
    old = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if old != text:
        TARGET.write_text(text, encoding="utf-8")
    return old != text


if __name__ == "__main__":  # pragma: no cover
    print("written" if write() else "unchanged", TARGET, file=sys.stderr)
