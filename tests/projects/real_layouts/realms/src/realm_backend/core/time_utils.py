import time


def now_ms() -> int:
    """Milliseconds since the epoch: the IC's clock where there is one (Kybra's, then Basilisk's)."""
    try:
        from kybra import ic as _ic  # noqa: PLC0415

        return int(_ic.time()) // 1_000_000
    except Exception:
        pass
    try:
        from _cdk import ic as _ic  # noqa: PLC0415

        return int(_ic.time()) // 1_000_000
    except Exception:
        return int(time.time() * 1000)
