"""A Spin-style HTTP app: each route imports what it needs when it is first called, as Spin apps
do to start fast; the page template is package data, read through importlib.resources."""

from wit_world import exports
from wit_world.imports.http_types import Method, Request, Response


def _reply(status: int, body: str, kind: str = "text/plain") -> Response:
    return Response(status, [("content-type", kind)], body.encode())


class InboundHttp(exports.InboundHttp):
    def handle_request(self, req: Request) -> Response:
        import urllib.parse

        url = urllib.parse.urlsplit(req.uri)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/hello":
            import json

            return _reply(200, json.dumps({"hello": query.get("name", "world")}), "application/json")
        if url.path == "/page":
            import importlib.resources
            import string

            template = importlib.resources.files("templates").joinpath("page.html").read_text(encoding="utf-8")
            return _reply(200, string.Template(template).substitute(title=query.get("title", "Home")), "text/html")
        if req.method == Method.POST and url.path == "/echo":
            return _reply(200, (req.body or b"").decode("utf-8", "replace"))
        return _reply(404, f"no route for {url.path}")
