"""The staff pages: server-rendered Jinja (top-level templates/), forms that post and redirect.

Pages are thin like the API views: parse with the shared schemas, decide access with
core.access, call one domain function, end with audit.commit. They never import the API.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)
