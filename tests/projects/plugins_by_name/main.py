"""Plugins loaded at init by names made from data: no import of them is written out."""
from basilisk import query, text

NAMES = ("alpha", "beta")
PLUGINS = {name: __import__(f"plugins.{name}", fromlist=["apply"]) for name in NAMES}


@query
def apply(plugin: text, value: text) -> text:
    module = PLUGINS.get(plugin)
    return module.apply(value) if module else value
