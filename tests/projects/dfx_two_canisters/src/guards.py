"""A decorator that hides a method's parameters behind functools.wraps, like real projects' @require."""
import functools


def require(role):
    def wrap(method):
        @functools.wraps(method)
        def guarded(*args, **kwargs):
            from src import audit  # loaded only when a guarded method runs

            audit.record(method.__name__, role)
            return method(*args, **kwargs)

        return guarded

    return wrap
