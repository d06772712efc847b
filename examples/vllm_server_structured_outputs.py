"""Ask a vLLM OpenAI-compatible server (run by someone else) for output that follows an Ananke constraint.

The server must use vLLM's guidance backend, e.g.:

    vllm serve HuggingFaceTB/SmolLM2-135M-Instruct --structured-outputs-config '{"backend": "guidance"}'

Then:

    python examples/vllm_server_structured_outputs.py http://127.0.0.1:8000/v1

prints the reply and whether Ananke verifies it (exit status 1 if not). Needs ``openai``.
"""

from __future__ import annotations

import argparse
import json

from openai import OpenAI

import ananke
from ananke.integrations.vllm import structured_outputs

PERSON = {
    "kind": "json_schema",
    "schema": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "age": {"type": "integer", "minimum": 18, "maximum": 99},
        },
        "required": ["name", "age"],
        "additionalProperties": False,
    },
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the server's OpenAI base URL, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", help="served model name (default: the server's first model)")
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    client = OpenAI(base_url=args.base_url, api_key="EMPTY")
    model = args.model or client.models.list().data[0].id
    reply = client.chat.completions.create(
        model=model,
        max_tokens=args.max_tokens,
        temperature=0.0,
        messages=[{"role": "user", "content": "Describe a person as JSON with a name and an age."}],
        extra_body=structured_outputs(PERSON),  # {"structured_outputs": {"grammar": <compiled Lark>}}
    )
    text = reply.choices[0].message.content or ""
    verdict = ananke.compile(PERSON).verify(text)
    print(json.dumps({"text": text, "finish_reason": reply.choices[0].finish_reason, "satisfied": verdict.satisfied}))
    return 0 if verdict.satisfied else 1


if __name__ == "__main__":
    raise SystemExit(main())
