"""pg_trickle stream tables in Django."""

__version__ = "0.2.0"
