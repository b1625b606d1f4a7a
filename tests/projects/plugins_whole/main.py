"""Plugins loaded by computed names from a package the program also imports by name."""
import plugins
from basilisk import query, text

PLUGINS = {name: __import__(f"plugins.{name}", fromlist=["apply"]) for name in plugins.NAMES}


@query
def apply(plugin: text, value: text) -> text:
    module = PLUGINS.get(plugin)
    return module.apply(value) if module else value
