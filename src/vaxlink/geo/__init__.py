"""Vietnamese administrative units: the 63-province and 2025 lists, and scope checks."""
