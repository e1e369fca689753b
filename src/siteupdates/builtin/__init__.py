"""The plugins siteupdates ships: storages, a logging notifier and the default policies.

They are registered through the same hooks as third-party plugins and can be
blocked by name like any of them.
"""
