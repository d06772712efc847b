"""Verification of an output (a parser run) never blocks the event loop."""

from __future__ import annotations

import asyncio
import threading

from ananke.core._compiler import CompiledConstraint


def test_verification_runs_off_the_event_loop_thread(service, monkeypatch):
    seen: list[int] = []
    original = CompiledConstraint.verify

    def recording(self, text, token_ids=None):
        seen.append(threading.get_ident())
        return original(self, text, token_ids)

    monkeypatch.setattr(CompiledConstraint, "verify", recording)
    request = {
        "prompt": "x = ",
        "chat": False,
        "max_tokens": 4,
        "temperature": 0.0,
        "constraint": {"kind": "grammar", "builtin": "python", "start": "expression"},
    }

    async def run():
        loop_thread = threading.get_ident()
        response = await service.generate(dict(request, request_id="a"))
        streamed = [item async for item in service.stream(dict(request, request_id="b"))]
        return loop_thread, response, streamed[-1]

    loop_thread, response, final = asyncio.run(run())
    assert len(seen) == 2 and loop_thread not in seen
    assert response.generated_text and final.generated_text
