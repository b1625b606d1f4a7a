"""Stdlib modules imported inside the exports, as many apps do to keep start-up light."""

import wit_world


class WitWorld(wit_world.WitWorld):
    def to_json(self, key: str, values: list[int]) -> str:
        import json

        return json.dumps({key: values}, sort_keys=True)

    def quoted(self, text: str) -> str:
        from email.utils import quote

        return f'"{quote(text)}"'
