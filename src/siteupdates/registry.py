"""The registries that "register" hooks hand to plugins.

A plugin calls ``registry.register(...)`` instead of returning lists, so a hook
can grow without breaking plugins. Kept apart from :mod:`siteupdates.plugins` so
that the hook specifications can name these types without importing the plugin
manager that calls them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Tuple

from siteupdates.errors import ConfigurationError

if TYPE_CHECKING:
    from siteupdates.domain import Policy

__all__ = ["PolicyRegistry"]


class PolicyRegistry:
    """Collects the policies that plugins register, in registration order."""

    def __init__(self) -> None:
        self._policies: Dict[str, Policy] = {}

    def register(self, policy: Policy) -> None:
        """Add ``policy``; its ``name`` must be unique."""
        from siteupdates.domain.policies import Policy

        if not isinstance(policy, Policy):
            raise ConfigurationError(
                f"register() takes a siteupdates.domain.Policy, not {type(policy).__name__}"
            )
        if policy.name in self._policies:
            raise ConfigurationError(f"a policy named {policy.name!r} is registered already")
        self._policies[policy.name] = policy

    @property
    def policies(self) -> Tuple[Policy, ...]:
        """The registered policies."""
        return tuple(self._policies.values())
