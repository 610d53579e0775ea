"""Blind linkage test set: a population, dirty dose records and a scorer made without vaxlink's
own generator or engine (see README.md)."""
