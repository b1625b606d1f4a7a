LOG: list = []


def record(name: str, role: str) -> int:
    LOG.append(f"{role}:{name}")
    return len(LOG)
