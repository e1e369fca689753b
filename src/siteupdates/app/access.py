"""R22 for the contact's use cases: what a contact may see, and one answer for the rest.

A contact sees the tenants connected to them and those tenants' requests (not
deleted ones). Anything else, missing or another tenant's, is the same
:class:`~siteupdates.errors.AccessDenied`, so a refusal never tells whether it
exists. The contact's use cases and the staged ones of the planner both check
through here.
"""

from __future__ import annotations

from siteupdates.domain.model import Contact, Status, Tenant, UpdateRequest
from siteupdates.errors import AccessDenied
from siteupdates.ports import Reads

__all__ = ["NO_ACCESS", "contact", "request_for", "tenant_for"]

#: The words of every R22 refusal (``what``: tenant or request).
NO_ACCESS = "no such {what} among the tenants connected to you"


def contact(reads: Reads, contact_id: str) -> Contact:
    """The contact, or AccessDenied (the same answer as for a tenant not theirs, R22)."""
    found = reads.contact(contact_id)
    if found is None:
        raise AccessDenied(f"unknown contact {contact_id!r}")
    return found


def tenant_for(reads: Reads, who: Contact, tenant_id: str) -> Tenant:
    """A tenant the contact sees, or AccessDenied (R22)."""
    tenant = reads.tenant(tenant_id) if who.sees(tenant_id) else None
    if tenant is None:
        raise AccessDenied(NO_ACCESS.format(what="tenant"))
    return tenant


def request_for(reads: Reads, who: Contact, request_id: str) -> UpdateRequest:
    """A request of a tenant the contact sees, not deleted, or AccessDenied (R22)."""
    found = reads.request(request_id)
    if found is None or not who.sees(found.tenant_id) or found.status is Status.DELETED:
        raise AccessDenied(NO_ACCESS.format(what="request"))
    return found
