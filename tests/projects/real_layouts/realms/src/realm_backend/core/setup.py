"""Realm setup: called by the canister and by the repository's host tests."""

from ic_python_logging import get_logger

from core.time_utils import now_ms

logger = get_logger("core.setup")


def _realm_class():
    try:
        from ggg import Realm
    except ImportError:
        from realm_backend.ggg import Realm  # the repository's host-test layout
    return Realm


def create_realm(name: str, manifesto: str) -> str:
    Realm = _realm_class()
    realm = Realm(name=name, manifesto=manifesto)
    logger.info(f"realm {name} created at {now_ms()}")
    return realm.name


def realm_name() -> str:
    Realm = _realm_class()
    realms = list(Realm.instances())
    return realms[0].name if realms else ""
