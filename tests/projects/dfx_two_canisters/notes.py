"""A canister whose entry sits at the project root: an ORM, logging, and plugins loaded by name."""
from basilisk import Opt, ic, nat, query, text, update
from ic_python_db import Entity, Integer, String
from ic_python_logging import get_logger
from notes_lib import PLUGINS

logger = get_logger("notes")


class Note(Entity):
    title = String()
    stars = Integer()


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
    if plugin not in PLUGINS:
        return None
    # A name made at run time: only a dry run that calls this method sees the plugin.
    return __import__(f"notes_lib.plugins.{plugin}", fromlist=["apply"]).apply(value)
