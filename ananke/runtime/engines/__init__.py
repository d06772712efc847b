"""Engine implementations behind :class:`ananke.runtime.Engine` (imported lazily: they pull in torch)."""

__all__: list[str] = []
