"""Reversed."""


def apply(value):
    return value[::-1]
