from basilisk import query, text, update

# Import and expose the test functions
from tests import test_functions


@query
def greet() -> text:
    return "Hello from the shell test canister!"


@query
def escaped() -> text:
    return test_functions.json.dumps(test_functions.escaped_strings(), sort_keys=True)


@update
def execute_code(code: text) -> text:
    import io
    import sys
    import traceback

    stdout = io.StringIO()
    sys.stdout = stdout
    try:
        result = eval(code, globals())
        if result is not None:
            print(repr(result))
    except SyntaxError:
        try:
            exec(code, globals())
        except Exception:
            traceback.print_exc(file=stdout)
    except Exception:
        traceback.print_exc(file=stdout)
    sys.stdout = sys.__stdout__
    return stdout.getvalue()
