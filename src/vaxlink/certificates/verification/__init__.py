"""Verification at the edge and over the store: submissions (text or photo), trust and revocations."""
