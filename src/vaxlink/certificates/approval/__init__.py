"""Facility approval (ký số): sites sign the verified dose records they vouch for."""
