"""An example canister: an ORM, structured logging, templates and plugins loaded by name."""
import importlib

from basilisk import Opt, nat, query, text, update
from ic_python_db import Entity, Integer, String
from ic_python_logging import get_logger
from jinja2 import Environment

logger = get_logger("example")
templates = Environment(autoescape=True)
PAGE = templates.from_string("<h1>{{ title }}</h1><p>{{ count }} notes</p>")
PLUGINS = ("upper", "reverse")


class Note(Entity):
    title = String()
    stars = Integer()


def _plugins():
    # Plugins are found by name at run time: a static scan cannot see them.
    return {name: importlib.import_module(f"plugins.{name}") for name in PLUGINS}


@update
def add_note(title: text, stars: nat) -> text:
    note = Note(title=title, stars=stars)
    logger.info(f"note {note._id} added")
    return str(note._id)


@query
def render(title: text) -> text:
    return PAGE.render(title=title, count=Note.count())


@query
def transform(plugin: text, value: text) -> Opt[text]:
    module = _plugins().get(plugin)
    return module.apply(value) if module else None
