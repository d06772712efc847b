"""Ananke's HTTP service: one FastAPI app for the seed API, Maze, OpenAI clients and compile-only validation.

    from ananke.runtime import GenerationService
    from ananke.server import create_app

    app = create_app(GenerationService.from_model())          # or create_app(lambda: GenerationService.from_model())
    # uvicorn.run(app, host="127.0.0.1", port=8000)  — or `ananke serve`

Routes, shapes and errors: docs/http.md.
"""

from ananke.server._app import create_app
from ananke.server._errors import ApiError
from ananke.server._logging import configure_logging

__all__ = ["ApiError", "configure_logging", "create_app"]
