from .pgtrickle import PgTrickleHook

__all__ = ["PgTrickleHook"]
