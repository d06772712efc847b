"""The official ``openai`` package against ``/v1`` of a real server."""

from __future__ import annotations

import json
import re

import jsonschema
import openai
import pytest

pytestmark = pytest.mark.model

SCHEMA = {
    "type": "object",
    "properties": {
        "color": {"enum": ["red", "green", "blue"]},
        "count": {"type": "integer", "minimum": 0, "maximum": 9},
    },
    "required": ["color", "count"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def client(live):
    return openai.OpenAI(base_url=live.url + "/v1", api_key=live.app.state.ananke.api_key, max_retries=0, timeout=120)


def test_models(client):
    assert [m.id for m in client.models.list().data] == ["SmolLM2-135M-Instruct"]


def test_chat_json_schema_response_format(client):
    resp = client.chat.completions.create(
        model="anything",
        messages=[
            {"role": "system", "content": "Answer in JSON."},
            {"role": "user", "content": "Pick a color and a count."},
        ],
        max_tokens=40,
        temperature=0,
        seed=1,
        response_format={"type": "json_schema", "json_schema": {"name": "pick", "schema": SCHEMA, "strict": True}},
    )
    choice = resp.choices[0]
    assert resp.object == "chat.completion" and choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    jsonschema.validate(json.loads(choice.message.content), SCHEMA)
    assert resp.usage.completion_tokens > 0 and resp.usage.total_tokens > resp.usage.completion_tokens
    assert resp.model_extra["ananke"]["constraint_satisfied"] is True


def test_chat_json_object(client):
    resp = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "JSON please"}],
        max_tokens=24,
        temperature=0,
        response_format={"type": "json_object"},
    )
    ananke = resp.model_extra["ananke"]
    if resp.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(resp.choices[0].message.content), dict)
    assert ananke["constraint_satisfied"] is (resp.choices[0].finish_reason == "stop")


def test_chat_streaming(client):
    stream = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Pick a color."}],
        max_tokens=6,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"structured_outputs": {"choice": ["red", "green"]}},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert text in ("red", "green") and finals == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens >= 1


@pytest.mark.parametrize(
    "structured,check",
    [
        ({"regex": "[0-9]{3}"}, lambda t: re.fullmatch("[0-9]{3}", t)),
        ({"grammar": 'start: "ab" | "cd"'}, lambda t: t in ("ab", "cd")),
        ({"json": {"type": "integer", "minimum": 1, "maximum": 50}}, lambda t: 1 <= int(t) <= 50),
    ],
)
def test_completions_structured_outputs(client, structured, check):
    resp = client.completions.create(
        model="m", prompt="Answer:", max_tokens=8, temperature=0, extra_body={"structured_outputs": structured}
    )
    assert resp.object == "text_completion" and check(resp.choices[0].text)
    assert resp.choices[0].finish_reason == "stop"


def test_completions_streaming_with_ananke_constraint(client):
    stream = client.completions.create(
        model="m",
        prompt="Digits:",
        max_tokens=5,
        stream=True,
        extra_body={"ananke_constraint": {"kind": "regex", "pattern": "[0-9]{2}"}},
    )
    text = "".join(c.choices[0].text for c in stream if c.choices)
    assert re.fullmatch("[0-9]{2}", text)


def test_openai_errors_are_typed(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "x"}],
            max_tokens=4,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nonsense"}}},
        )
    assert "nonsense" in str(info.value)
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], max_tokens=-3)
    bad_key = openai.OpenAI(base_url=str(client.base_url), api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.models.list()
