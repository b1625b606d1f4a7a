"""Stdlib modules imported inside the exports, as many apps do to keep start-up light; and a codec looked
up at call time (idna, which imports encodings.punycode for a name that is not ASCII)."""

import wit_world


class WitWorld(wit_world.WitWorld):
    def to_json(self, key: str, values: list[int]) -> str:
        import json

        return json.dumps({key: values}, sort_keys=True)

    def quoted(self, text: str) -> str:
        from email.utils import quote

        return f'"{quote(text)}"'

    def ascii_host(self, name: str) -> str:
        return name.encode("idna").decode("ascii")
