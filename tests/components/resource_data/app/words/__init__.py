"""Package data: list.txt."""
