"""Year end: the January 1 refresh that closes year Y-1 and opens year Y (R8, R11)."""
