"""--exercise: call each canister method once with arguments made from its type hints.

Loaded by runner.py in the child before the program runs. A method that
raises is recorded with its error and the next one is called.
"""

import ast  # the tool's own copy, loaded before the program runs: the program's imports are its own
import sys
import typing as _own_typing

_ORDER = {"init": 0, "post_upgrade": 1, "query": 2, "update": 2, "inspect_message": 3,
          "heartbeat": 4, "pre_upgrade": 5}
_MAX_STEPS = 100
_DECORATORS = ("query", "update", "init", "heartbeat", "pre_upgrade", "post_upgrade",
               "inspect_message")


def patch_basilisk(module, methods):
    """Wrap the runtime's decorators (identity functions) so that they report the methods."""
    for kind in _DECORATORS:
        original = getattr(module, kind, None)
        if callable(original) and not getattr(original, "_basilisk_trace", False):
            setattr(module, kind, _method_decorator(kind, original, methods))


def _method_decorator(kind, original, methods):
    def register(func):
        methods.append((kind, func))
        return func

    def decorator(*args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return original(register(args[0]))
        inner = original(*args, **kwargs)
        return lambda func: inner(register(func))

    decorator._basilisk_trace = True
    decorator.__name__ = getattr(original, "__name__", kind)
    decorator.__doc__ = getattr(original, "__doc__", None)
    return decorator


# Type name -> a dict subclass with the fields ic-basilisk's own package defines for it: the runtime
# makes basilisk.canisters.management's types plain dicts, so a hint alone cannot tell their shape.
SHAPES = {}


def learn_shapes(sources):
    """Define the management canister's types from the package's sources, over the runtime's basilisk."""
    for source in sources:
        namespace = {"__name__": "_basilisk_trace_shapes"}
        try:
            exec(compile(source["text"], source["origin"], "exec"), namespace)
        except Exception:
            continue  # a definition this runtime cannot build: that type's arguments stay None
        for name, value in namespace.items():
            if isinstance(value, type) and issubclass(value, dict) and value.__dict__.get("__annotations__"):
                SHAPES.setdefault(name, value)


def failed_imports(exc):
    """Names of the modules whose failed import the exception chain carries, outermost first.

    An ImportError that was only being handled when another error came (the `except
    ImportError:` fallback itself failed) is a guarded import, not a required one; it counts
    when the new error is an import failure too, or names it as its cause.
    """
    names, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ImportError) and exc.name:
            names.append(exc.name)
            # "cannot import name 'X' from 'M'": the failed submodule is M.X
            name_from = getattr(exc, "name_from", None)
            if name_from:
                names.append(f"{exc.name}.{name_from}")
        if exc.__cause__ is not None:
            exc = exc.__cause__
        elif isinstance(exc, ImportError):
            exc = exc.__context__
        else:
            break
    return names


def run_method(func):
    """Call one canister method with arguments made from its hints, driving it if async."""
    args, keywords = _arguments(func)
    _drive(func(*args, **keywords))


def call_methods(state):
    """Call every registered method; return the names of imports a failure needed."""
    required = set()
    seen = set()
    methods = sorted(enumerate(state.methods), key=lambda item: (_ORDER.get(item[1][0], 9), item[0]))
    for _, (decorator, func) in methods:
        if id(func) in seen:
            continue
        seen.add(id(func))
        error = None
        try:
            run_method(func)
        except Exception as exc:  # a method's own failure is data
            error = f"{type(exc).__name__}: {exc}"
            required.update(failed_imports(exc))
        state.method_results.append((
            getattr(func, "__qualname__", repr(func)),
            decorator,
            getattr(func, "__module__", None),
            error,
        ))
    return required


def _drive(result):
    """Run a generator-style async method (basilisk's Async) to completion."""
    send = getattr(result, "send", None)
    if send is None or not hasattr(result, "throw"):
        return
    for _ in range(_MAX_STEPS):
        try:
            send(None)
        except StopIteration:
            return
    close = getattr(result, "close", None)
    if close:
        close()


def _typing():
    """The program's typing (its hints are made of it; the dry run hides the tool's copy), else ours."""
    program = sys.modules.get("typing")
    return program if hasattr(program, "get_origin") else _own_typing


def _arguments(func):
    """Positional and keyword-only arguments for the parameters without defaults."""
    target = _unwrapped(func)
    try:
        hints = _typing().get_type_hints(target, include_extras=False)
    except Exception:
        hints = dict(getattr(target, "__annotations__", {}))
    code = getattr(target, "__code__", None)
    if code is None:
        return [], {}
    names = code.co_varnames[: code.co_argcount]
    defaults = len(getattr(target, "__defaults__", None) or ())
    wanted = names[: len(names) - defaults] if defaults else names
    keyword_only = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    given = getattr(target, "__kwdefaults__", None) or {}
    named = _annotation_names(target) if SHAPES and dict in hints.values() else {}
    hints.update((name, SHAPES[named[name]]) for name, hint in list(hints.items())
                 if hint is dict and named.get(name) in SHAPES)
    keywords = {name: synthesise(hints.get(name)) for name in keyword_only if name not in given}
    return [synthesise(hints.get(name)) for name in wanted], keywords


_SOURCES = {}  # file -> its parsed module, for the annotations of the methods it defines


def _annotation_names(func):
    """{parameter: the name its annotation spells} (HttpTransformArgs), read from the source."""
    code = getattr(func, "__code__", None)
    if code is None:
        return {}
    path = code.co_filename
    if path not in _SOURCES:
        try:
            with open(path, "rb") as handle:
                _SOURCES[path] = ast.parse(handle.read())
        except (OSError, SyntaxError, ValueError):
            _SOURCES[path] = None
    tree = _SOURCES[path]
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name and \
                code.co_firstlineno in (node.lineno, *(d.lineno for d in node.decorator_list)):
            params = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            return {a.arg: _last_name(a.annotation) for a in params if a.annotation is not None}
    return {}


def _last_name(node):
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)


def _unwrapped(func):
    """The function functools.wraps wrapped, as inspect.signature sees it (inspect is heavy to import here)."""
    seen = set()
    while hasattr(func, "__wrapped__") and id(func) not in seen:
        seen.add(id(func))
        func = func.__wrapped__
    return func


def synthesise(hint, depth=0):
    """A plausible value for a type hint; None where nothing better is known."""
    if isinstance(hint, str):
        hint = SHAPES.get(hint)  # a forward reference in the package's definitions ("CanisterSettings")
    if hint is None or depth > 4:
        return None
    typing = _typing()
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        options = [a for a in args if a is not type(None)]
        return synthesise(options[0], depth + 1) if options and len(options) == len(args) else None
    if origin is typing.Annotated:
        return synthesise(args[0], depth + 1)
    if origin in (list, set, frozenset):
        return origin()
    if origin is tuple:
        return tuple(synthesise(a, depth + 1) for a in args if a is not Ellipsis)
    if origin is dict:
        return {}
    return _simple(hint, depth)


def _simple(hint, depth):
    for kind, value in ((bool, False), (int, 1), (float, 1.0), (str, "a"), (bytes, b"")):
        # The runtime's nat32, int16, float32 ... are subclasses (their stable encodings).
        if hint is kind or (isinstance(hint, type) and issubclass(hint, kind)):
            return value
    if _is_record(hint):
        try:
            fields = _typing().get_type_hints(hint)
        except Exception:
            fields = dict(getattr(hint, "__annotations__", {}))
        if _is_variant(hint) and fields:  # a Variant: exactly one case
            name = next(iter(fields))
            return {name: synthesise(fields[name], depth + 1)}
        # The runtime's own types are plain dicts: a value of their shape is one too.
        made = dict if hint in SHAPES.values() else hint
        return made(**{name: synthesise(t, depth + 1) for name, t in fields.items()})
    from_str = getattr(hint, "from_str", None)
    if callable(from_str):
        try:
            return from_str("aaaaa-aa")
        except Exception:
            return None
    return None


def _is_record(hint):
    """A Candid record or variant: a TypedDict (host ic-basilisk) or a dict subclass (the runtime's)."""
    if not isinstance(hint, type):
        return False
    return hasattr(hint, "__total__") or (issubclass(hint, dict) and hint is not dict
                                           and bool(getattr(hint, "__annotations__", None)))


def _is_variant(hint):
    if hasattr(hint, "__total__"):
        return not hint.__total__
    return any(base.__name__ in ("Variant", "_Variant") for base in hint.__mro__[1:])
