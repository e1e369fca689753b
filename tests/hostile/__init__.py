"""Hostile input: a census script and property-based fuzzing of every boundary."""
