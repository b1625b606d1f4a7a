"""simplejson, imported when called: its C speedups are optional, its pure-Python code runs in the component."""

import wit_world


class WitWorld(wit_world.WitWorld):
    def dumps(self, key: str, value: float) -> str:
        import simplejson

        return simplejson.dumps({key: value, "list": [value] * 2}, sort_keys=True)
