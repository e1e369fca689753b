"""The ``siteupdates`` management command."""
