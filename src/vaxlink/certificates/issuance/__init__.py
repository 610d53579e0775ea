"""Issuance over the store: what a certificate attests, batch and online issuance, the life cycle."""
