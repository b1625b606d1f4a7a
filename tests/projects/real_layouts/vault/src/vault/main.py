import traceback
from pprint import pformat

from basilisk import StableBTreeMap, nat, query, text, update
from kybra_simple_db import Database
from kybra_simple_logging import get_logger
from vault.candid_types import BalanceRecord, Response, ResponseData
from vault.constants import CANISTER_PRINCIPALS, MAX_RESULTS
from vault.entities import Balance, VaultTransaction

logger = get_logger(__name__)

storage = StableBTreeMap[str, str](memory_id=1, max_key_size=100, max_value_size=1000)
Database.init(db_storage=storage)


@update
def deposit(principal: text, amount: nat) -> Response:
    try:
        balance = Balance[principal] or Balance(_id=principal)
        balance.amount = balance.amount + amount
        tx = VaultTransaction(principal_from="ledger", principal_to=principal, amount=amount)
        logger.debug(f"Processing transaction {tx._id}: {pformat(tx.to_dict())}")
        return Response(success=True, data=ResponseData(Balance=BalanceRecord(principal_id=principal,
                                                                               amount=balance.amount)))
    except Exception as e:
        logger.error(f"deposit failed: {e}\n{traceback.format_exc()}")
        return Response(success=False, data=ResponseData(Error=str(e)))


@query
def get_balance(principal: text) -> Response:
    balance = Balance[principal]
    return Response(success=True, data=ResponseData(Balance=BalanceRecord(principal_id=principal,
                                                                           amount=balance.amount if balance else 0)))


@query
def status() -> text:
    return pformat({"ledger": CANISTER_PRINCIPALS["ckBTC"]["ledger"], "max_results": MAX_RESULTS,
                    "transactions": len(list(VaultTransaction.instances()))})
