"""vaxlink: verified, signed vaccine passports from dirty dose records."""
