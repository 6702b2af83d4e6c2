"""groups routes."""
from . import bp  # noqa: F401
