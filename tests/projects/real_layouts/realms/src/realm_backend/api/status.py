"""Status API: a health check of the realm."""

import json

from ggg import Realm, Treasury
from ic_python_logging import get_logger

logger = get_logger("api.status")


def get_status() -> str:
    realms = [r.name for r in Realm.instances()]
    treasuries = [t.describe() for t in Treasury.instances()]
    logger.info(f"status of {len(realms)} realm(s)")
    return json.dumps({"realms": realms, "treasuries": treasuries}, sort_keys=True)
