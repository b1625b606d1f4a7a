"""--exercise for a componentize-py app: call every export with arguments built from the bindings' types.

Loaded by the dry run's runner (tracer/child/runner.py) before the program runs; `call_methods`
is called after the app's import. The exports are the classes componentize-py instantiates
at build time: the app's `WitWorld` and one class per exported interface, each implementing
the Protocol of the same name in the world's generated bindings. Each method of the Protocol
is called once on an instance of the app's class, with a value for each parameter built from
the Protocol's annotations (str, int, float, bool, bytes, List, Tuple, Optional, dataclass
records, variants (a Union of dataclasses), Enum, Flag, Some, Result). Functions the world
imports (`wit_world.imports.*`, stubs that raise NotImplementedError on the host) answer
a value of their return type instead, so the code after them runs too.

State used (runner.py's _State): config["entry_module"], config["exports"] (JSON text from
the host: [{"class": "WitWorld", "module": "wit_world"}, ...] and the imports' modules),
method_results (qualname, kind, module, error) appended per call. Nothing is imported here
while the program runs: the program's own typing, dataclasses and enum are read from
sys.modules, since its annotations are made of them.
"""

import json
import sys

_LOAD = sys.modules["_basilisk_trace_load"]
_EXERCISE = _LOAD.load("exercise")  # the canister exerciser: failed_imports, and driving async results
_MAX_DEPTH = 6
_MAX_CALLS = 32  # per exported function
_MAX_CONSTANTS = 24
_COMPUTED = ("import_module", "__import__", "getattr")  # how a computed name is imported (frames.how)


def call_methods(state):
    """Call every exported function; return the names of imports a failure needed."""
    exports = json.loads(state.config.get("exports") or "{}")
    app = sys.modules.get(state.config["entry_module"])
    _answer_imports(exports.get("imports", ()))
    constants = _constants(app)
    required = set()
    for export in exports.get("classes", ()):
        protocol = getattr(sys.modules.get(export["module"]), export["class"], None)
        implementation = getattr(app, export["class"], None)
        if protocol is None or implementation is None:
            continue  # the world exports no functions there, or the app does not implement it
        required |= _call_class(state, protocol, implementation, constants)
    return required


def _call_class(state, protocol, implementation, constants):
    """Each method: once with the first value of every parameter (its outcome is recorded), then with
    one parameter changed at a time: the other cases, and the app's own string constants (its routes,
    its commands), so that the branches they select run too."""
    required = set()
    error, instance = _attempt(implementation)
    if error is not None:
        return _record(state, f"{implementation.__qualname__}()", implementation, error)
    for name in sorted(getattr(protocol, "__abstractmethods__", ())):
        method = getattr(instance, name, None)
        if method is None:
            missing = AttributeError(f"{implementation.__qualname__} does not define {name}")
            required |= _record(state, f"{implementation.__qualname__}.{name}", implementation, missing)
            continue
        calls = _argument_lists(protocol, name, constants)
        error, _ = _attempt(lambda m=method, a=calls[0]: _drive(m(*a)))
        required |= _record(state, f"{implementation.__qualname__}.{name}", implementation, error)
        for args in calls[1:]:
            error, _ = _attempt(lambda m=method, a=args: _drive(m(*a)))
            required |= _needed(state, error)
    return required


def _attempt(call):
    try:
        return None, call()
    except Exception as exc:  # the app's own failure is data
        return exc, None


def _record(state, qualname, implementation, error):
    """Note the call's outcome; the modules its failure needed, but not names the call computed
    (`import_module(f"plugins.{name}")` with a made-up name is the argument's doing)."""
    text = None if error is None else f"{type(error).__name__}: {error}"
    state.method_results.append((qualname, "export", getattr(implementation, "__module__", None), text))
    return _needed(state, error)


def _needed(state, error):
    names = _EXERCISE.failed_imports(error) if error is not None else ()
    return {n for n in names if state.attempts.get(n, {}).get("how") not in _COMPUTED}


def _drive(result):
    _EXERCISE._drive(result)  # an async export's coroutine, run to its end
    return result


def _argument_lists(protocol, name, constants):
    """The arguments of each call: the first values, then one parameter changed at a time."""
    typing = sys.modules["typing"]
    function = getattr(protocol, name)
    hints = typing.get_type_hints(function)
    code = function.__code__
    params = [hints.get(n) for n in code.co_varnames[1:code.co_argcount]]  # without self
    first = [value_for(h) for h in params]
    calls = [first]
    for index, hint in enumerate(params):
        for other in _others(hint, constants, 0):
            if len(calls) >= _MAX_CALLS:
                return calls
            calls.append([*first[:index], other, *first[index + 1:]])
    return calls


def _others(hint, constants, depth):
    """Other values of a type than value_for's: the app's string constants for a string, the other
    cases of an enum or variant, None for an option, each field's others in a record."""
    typing = sys.modules["typing"]
    if depth > 2 or hint is None:
        return
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        yield from constants
    elif hint is bool:
        yield True
    elif origin is typing.Union:
        choices = [a for a in args if a is not type(None)]
        if len(choices) < len(args):
            yield None
        yield from (value_for(c) for c in choices[1:])
        yield from _others(choices[0], constants, depth + 1) if choices else ()
    elif origin is list and args:
        yield []
        yield from ([item] for item in _others(args[0], constants, depth + 1))
    elif isinstance(hint, type) and any(b.__name__ == "Enum" for b in hint.__mro__[1:]) \
            and not any(b.__name__ == "Flag" for b in hint.__mro__[1:]):
        yield from list(hint)[1:]
    elif isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
        fields = typing.get_type_hints(hint)
        first = {name: value_for(fields.get(name)) for name in hint.__dataclass_fields__}
        for name in hint.__dataclass_fields__:
            for other in _others(fields.get(name), constants, depth + 1):
                yield hint(**{**first, name: other})


def _constants(app):
    """The short string constants in the app module's code: the values its branches compare against."""
    found, codes, seen = [], [], set()
    for value in vars(app).values() if app is not None else ():
        for item in [value, *vars(value).values()] if isinstance(value, type) else [value]:
            code = getattr(item, "__code__", None)
            if code is not None and getattr(item, "__module__", None) == app.__name__:
                codes.append(code)
    while codes and len(found) < _MAX_CONSTANTS:
        code = codes.pop(0)
        for const in code.co_consts:
            if hasattr(const, "co_consts"):
                codes.append(const)
            elif isinstance(const, str) and 0 < len(const) <= 64 and const.isprintable() and const not in seen:
                seen.add(const)
                found.append(const)
    return found[:_MAX_CONSTANTS]


def value_for(hint, depth=0):
    """A value of the bindings' type `hint`: the first case of each choice, one item per list."""
    typing = sys.modules["typing"]
    if hint is None or hint is type(None) or depth > _MAX_DEPTH:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        choices = [a for a in args if a is not type(None)]
        return value_for(choices[0], depth + 1) if choices else None
    if origin in (list, tuple) or _named(origin, "List", "Tuple"):
        items = [value_for(a, depth + 1) for a in args if a is not Ellipsis]
        return tuple(items) if origin is tuple else items[:1]
    if origin is not None and hasattr(origin, "__dataclass_fields__"):  # Some[T], Ok[T], Err[E]
        return origin(*[value_for(a, depth + 1) for a in args[:1]])
    return _simple(hint, depth)


def _simple(hint, depth):
    for kind, value in ((bool, False), (int, 1), (float, 1.0), (str, "a"), (bytes, b"a")):
        if hint is kind:
            return value
    if not isinstance(hint, type):
        return None
    if any(base.__name__ == "Flag" for base in hint.__mro__[1:]):
        return hint(0)
    if any(base.__name__ == "Enum" for base in hint.__mro__[1:]):
        return next(iter(hint))
    if hasattr(hint, "__dataclass_fields__"):
        hints = sys.modules["typing"].get_type_hints(hint)
        return hint(**{name: value_for(hints.get(name), depth + 1) for name in hint.__dataclass_fields__})
    return None


def _named(origin, *names):
    return getattr(origin, "__name__", None) in names or getattr(origin, "_name", None) in names


def _answer_imports(modules):
    """Each function the world imports answers a value of its return type instead of raising."""
    typing = sys.modules.get("typing")
    for name in modules:
        module = sys.modules.get(name)
        for function in list(vars(module).values()) if module is not None else ():
            if getattr(function, "__module__", None) != name or not hasattr(function, "__code__"):
                continue
            try:
                returned = typing.get_type_hints(function).get("return")
            except Exception:
                returned = None
            # The same function object stays bound wherever the app imported it from.
            function.__kwdefaults__ = {"_basilisk_trace_answer": value_for(returned)}
            function.__code__ = _answer.__code__


def _answer(*args, _basilisk_trace_answer=None, **kwargs):
    return _basilisk_trace_answer
