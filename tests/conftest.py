import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def ananke_cli():
    """Run the real `ananke` console script in a subprocess."""
    import subprocess

    def run(*args, input=None, env=None):
        return subprocess.run(
            [sys.executable, "-m", "ananke", *args],
            input=input,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=120,
        )

    return run


@pytest.fixture(scope="session")
def engine():
    """The real embedded model (SmolLM2-135M-Instruct), loaded once per test session."""
    from ananke.runtime import TransformersEngine

    eng = TransformersEngine()  # converted once into the user cache
    yield eng
    import asyncio

    asyncio.run(eng.aclose())


@pytest.fixture(scope="session")
def service(engine):
    from ananke.runtime import GenerationService

    return GenerationService(engine)
