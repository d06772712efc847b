"""Built-in constraint plugins; each registers through the same plugin manager as third-party ones."""

__all__: list[str] = []
