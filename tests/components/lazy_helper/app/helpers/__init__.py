"""The app's helpers, imported only when an export needs them."""
