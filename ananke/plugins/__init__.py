"""Built-in constraint plugins: each is an ``ananke.constraints`` entry point of Ananke's ``pyproject.toml``,
loaded through the same plugin manager and the same path as a third party's."""

__all__: list[str] = []
