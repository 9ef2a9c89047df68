"""Lambda handlers: the entry points named in the function configuration."""
