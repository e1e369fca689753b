"""The management commands: ``manage.py siteupdates``."""
