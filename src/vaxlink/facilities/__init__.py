"""Vaccination sites: who they are, which ward's station they belong to, who answers for them."""
