"""Gunicorn settings for `gunicorn -c gunicorn.conf.py` from a checkout.

The settings live in the installed package, so `gunicorn -c
python:durban_valuations.api.gunicorn_conf` works the same without this file.
"""

from durban_valuations.api.gunicorn_conf import *  # noqa: F403
