"""First-party plugins, each shaped exactly like a third-party plugin package."""
