"""Text plugins: plugins.<kind>_text."""
