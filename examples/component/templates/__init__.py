"""Page templates, read at call time."""
