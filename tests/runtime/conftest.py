"""Shared fixtures: the real embedded model, loaded once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def engine():
    from ananke.runtime import TransformersEngine

    eng = TransformersEngine()  # embedded SmolLM2-135M-Instruct; converted once into the user cache
    yield eng
    import asyncio

    asyncio.run(eng.aclose())


@pytest.fixture(scope="session")
def service(engine):
    from ananke.runtime import GenerationService

    return GenerationService(engine)
