import json
import traceback

import api  # noqa: F401
from _cdk import StableBTreeMap, nat, query, text, update
from api.status import get_status
from core.quarter_sync import realm_of_quarter
from core.setup import create_realm, realm_name
from core.treasury_sync import deposit
from ic_python_db import Database

storage = StableBTreeMap[str, str](memory_id=1, max_key_size=100, max_value_size=10000)
Database.init(db_storage=storage, audit_enabled=False)


@update
def setup(name: text, manifesto: text) -> text:
    try:
        return create_realm(name, manifesto)
    except Exception as exc:
        return f"error: {exc}\n{traceback.format_exc()}"


@update
def fund(treasury: text, amount: nat) -> nat:
    return deposit(treasury, amount)


@query
def status() -> text:
    return get_status()


@query
def name() -> text:
    return json.dumps(realm_name())


@query
def quarter(name: text) -> text:
    return realm_of_quarter(name)
