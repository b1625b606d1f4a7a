import base64
import colorsys
import heapq
import json
import string
import urllib.parse

from basilisk import Vec, blob, query, text


@query
def test_base64() -> blob:
    return base64.b64encode(b"Hello there")


@query
def test_colorsys() -> text:
    return f"{colorsys.rgb_to_hsv(0.2, 0.4, 0.4)[0]:.3f}"


@query
def test_heapq() -> Vec[int]:
    return heapq.nsmallest(3, [5, 1, 4, 2, 3])


@query
def test_json() -> text:
    return json.dumps({"letters": string.ascii_lowercase[:3]})


@query
def test_urllib() -> text:
    return urllib.parse.unquote("https%3A%2F%2Fexample.com%2F%3Fq%3D1")
