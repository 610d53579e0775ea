"""Worklists, corrections and review decisions; identity-first dose entry."""
