"""The one place that names the CDK: switching CDKs changes this file only."""

from basilisk import *  # noqa: F401, F403
from basilisk import ic  # noqa: F401

try:
    from basilisk.canisters.management import HttpResponse, HttpTransformArgs  # noqa: F401
except ImportError:  # a host without the management types
    HttpResponse = dict
    HttpTransformArgs = dict
