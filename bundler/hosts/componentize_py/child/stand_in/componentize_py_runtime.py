"""A stand-in for componentize-py's native runtime module, for the dry run on host CPython only.

Inside a component this module is native (componentize-py's Rust runtime): the generated
async helpers call into it. On the host they can be imported; calling them says why not.
"""


def _unavailable(name):
    def function(*args, **kwargs):
        raise RuntimeError(f"componentize_py_runtime.{name} runs only inside a component, not in a dry run")

    function.__name__ = name
    return function


for _name in ("call_import", "call_task_return", "waitable_set_new", "waitable_set_drop", "waitable_join",
              "subtask_drop", "context_set", "context_get", "promise_get_result", "future_read",
              "future_write", "future_drop_readable", "future_drop_writable", "stream_read",
              "stream_write", "stream_drop_readable", "stream_drop_writable", "drop_resource"):
    globals()[_name] = _unavailable(_name)
del _name
