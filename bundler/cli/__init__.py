"""The command line: one settings object, thin commands, one error handler."""
