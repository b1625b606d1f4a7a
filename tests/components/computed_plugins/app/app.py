"""Plugins loaded by a name computed from the call's argument: no scan can follow the import."""

import importlib

import wit_world
from wit_world import Kind


class WitWorld(wit_world.WitWorld):
    def apply(self, plugin: Kind, text: str) -> str:
        module = importlib.import_module(f"plugins.{plugin.name.lower()}_text")
        return module.apply(text)
