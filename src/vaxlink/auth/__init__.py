"""Staff accounts, roles, geographic scopes, sessions and the hash-chained audit log."""
