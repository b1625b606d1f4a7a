"""Hello world with ic-python-logging, the smallest real canister."""
from basilisk import query, text
from ic_python_logging import get_logger

logger = get_logger("hello")


@query
def greet(name: text) -> text:
    logger.info(f"greeting {name}")
    return f"Hello, {name}!"
