"""Template tags: ``{% load siteupdates %}``."""
