from ic_python_db import Entity, String, TimestampedMixin


class Realm(Entity, TimestampedMixin):
    __alias__ = "name"
    name = String(min_length=2, max_length=64)
    manifesto = String(max_length=256)
