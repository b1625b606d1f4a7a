"""A larger canister: an ORM, structured logging, templates, YAML and JSON config, time zones."""
import pytz
import simplejson
import six
import yaml
from basilisk import nat, query, text, update
from ic_python_db import Entity, Integer, String
from ic_python_logging import get_logger
from jinja2 import Environment

logger = get_logger("larger")
templates = Environment(autoescape=True)
PAGE = templates.from_string("<h1>{{ title }}</h1><p>{{ when }}</p>")
CONFIG = yaml.safe_load("zone: Europe/Zurich\nlimits: {notes: 100}\n")
ZONE = pytz.timezone(CONFIG["zone"])


class Note(Entity):
    title = String()
    stars = Integer()


@update
def add_note(title: text, stars: nat) -> text:
    note = Note(title=title, stars=stars)
    logger.info(six.text_type(f"note {note._id} added"))
    return simplejson.dumps({"id": str(note._id)})


@query
def render(title: text) -> text:
    return PAGE.render(title=title, when=ZONE.zone)
