"""Enforce an Ananke constraint inside your own ``model.generate`` call (Hugging Face transformers).

    python examples/transformers_logits_processor.py                 # the embedded SmolLM2-135M
    python examples/transformers_logits_processor.py --model HuggingFaceTB/SmolLM2-360M-Instruct

Generates a JSON person for two prompts in one batch and prints each reply with Ananke's verdict
(exit status 1 if one fails). Needs ``ananke[local]`` (torch, transformers).
"""

from __future__ import annotations

import argparse
import json

from transformers import LogitsProcessorList

import ananke
from ananke.integrations.transformers import AnankeLogitsProcessor
from ananke.runtime import load_model

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
PROMPTS = ["Describe a person as JSON with a name and an age.", "Invent a chess player; answer in JSON."]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="HF id, local folder or .gguf (default: the embedded model)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()

    loaded = load_model(args.model)  # or: AutoModelForCausalLM / AutoTokenizer.from_pretrained(...)
    model, tok = loaded.model, loaded.tokenizer
    texts = [
        tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in PROMPTS
    ]
    inputs = tok(texts, return_tensors="pt", padding=True, padding_side="left").to(model.device)
    processor = AnankeLogitsProcessor(PERSON, tok, model=model)
    out = model.generate(
        **inputs,
        logits_processor=LogitsProcessorList([processor]),
        do_sample=False,
        max_new_tokens=args.max_new_tokens,
        pad_token_id=tok.pad_token_id or tok.eos_token_id,
    )
    replies = tok.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    compiled = ananke.compile(PERSON)
    ok = True
    for reply in replies:
        satisfied = compiled.verify(reply).satisfied
        ok = ok and satisfied
        print(json.dumps({"text": reply, "satisfied": satisfied}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
