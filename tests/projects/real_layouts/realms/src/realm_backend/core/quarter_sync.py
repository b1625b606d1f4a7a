def realm_of_quarter(quarter: str) -> str:
    try:
        from ggg import Realm
    except ImportError:
        try:
            from realm_backend.ggg import Realm
        except ImportError:
            return ""
    realms = list(Realm.instances())
    return f"{quarter}@{realms[0].name}" if realms else quarter
