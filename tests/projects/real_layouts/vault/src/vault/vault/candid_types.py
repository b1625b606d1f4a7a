from basilisk import Record, Variant, nat, text


class BalanceRecord(Record):
    principal_id: text
    amount: nat


class ResponseData(Variant, total=False):
    Balance: BalanceRecord
    Message: text
    Error: text


class Response(Record):
    success: bool
    data: ResponseData
