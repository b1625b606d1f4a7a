"""An example canister: an ORM, structured logging, and plugins loaded by name at run time."""
from basilisk import Opt, ic, nat, query, text, update
from ic_python_db import Entity, Integer, String
from ic_python_logging import get_logger

logger = get_logger("example")
PLUGINS = ("upper", "reverse")


class Note(Entity):
    title = String()
    stars = Integer()


def _plugins():
    # Plugins are found by name at run time: a static scan cannot see them. __import__ rather
    # than importlib.import_module: the basilisk runtime has no importlib package.
    return {name: __import__(f"plugins.{name}", fromlist=["apply"]) for name in PLUGINS}


@update
def add_note(title: text, stars: nat) -> text:
    note = Note(title=title, stars=stars)
    logger.info(f"note {note._id} added by {ic.caller()}")
    return str(note._id)


@query
def count_notes() -> nat:
    return Note.count()


@query
def transform(plugin: text, value: text) -> Opt[text]:
    module = _plugins().get(plugin)
    return module.apply(value) if module else None
