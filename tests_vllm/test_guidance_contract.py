"""Our compiled grammars through vLLM 0.32.0's own guidance code, on CPU.

1. Every grammar the compiler emits for the corpus survives vLLM's serialization
   (``serialize_guidance_grammar``: the ``grammar`` request type goes through llguidance's
   GBNF-or-Lark conversion) unchanged, and passes vLLM's request validation
   (``validate_guidance_grammar`` and the whole ``SamplingParams.verify``).
2. vLLM's ``GuidanceGrammar`` (built by ``GuidanceBackend.compile_grammar`` with the served
   tokenizer) and Ananke's decoding core (``ConstraintState``) compute the same token mask
   at every step of every corpus text, and accept exactly the same texts — the ones the
   corpus labels valid.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from _corpus import CASES, Case, builtin_cases

import ananke
from ananke.runtime._decode import ConstraintState, build_matchers
from ananke.runtime._engine import GenerationParams
from ananke.runtime.engines._vllm import build_sampling_params, replay_tokens, validate_for_tokenizer

ALL_CASES = list(CASES) + builtin_cases()


class _Compiled(dict):
    """Each case compiled on first use, for the served tokenizer (as the service compiles)."""

    def __init__(self, llg_tok: Any) -> None:
        super().__init__()
        self.llg_tok = llg_tok

    def __missing__(self, name: str) -> Any:
        case = next(c for c in ALL_CASES if c.name == name)
        self[name] = compiled = ananke.compile(case.source, tokenizer=self.llg_tok)
        return compiled


@pytest.fixture(scope="module")
def compiled_cases(llg_tok: Any) -> dict[str, Any]:
    return _Compiled(llg_tok)


def _one_grammar(compiled: Any) -> str:
    assert len(compiled.grammars) == 1, f"expected one grammar, got {len(compiled.grammars)}"
    return compiled.grammars[0]


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_grammar_passes_vllm_serialization_and_validation(
    case: Case,
    compiled_cases: dict[str, Any],
    llg_tok: Any,
    tokenizer: Any,
    model_config: Any,
    so_config: Any,
    vocab_size: int,
) -> None:
    import llguidance
    from vllm.v1.structured_output.backend_guidance import serialize_guidance_grammar, validate_guidance_grammar
    from vllm.v1.structured_output.backend_types import StructuredOutputOptions

    compiled = compiled_cases[case.name]
    grammar = _one_grammar(compiled)
    serialized = serialize_guidance_grammar(StructuredOutputOptions.GRAMMAR, grammar)
    # vLLM's "grammar" path (GBNF-or-Lark detection) must leave our Lark text as it is.
    assert serialized == llguidance.LLMatcher.grammar_from_lark(grammar)
    assert llguidance.LLMatcher.validate_grammar(serialized, llg_tok) == ""
    assert validate_for_tokenizer(compiled, llg_tok) is not None

    params = build_sampling_params(
        compiled, GenerationParams(max_tokens=32), vocab_size=vocab_size, end_ids=[tokenizer.eos_token_id]
    )
    validate_guidance_grammar(params, tokenizer=None)  # what vLLM runs for an HF tokenizer
    params.verify(model_config, None, so_config, tokenizer)  # the whole front-end validation
    assert params.structured_outputs._backend == "guidance"
    assert params.structured_outputs.grammar == grammar


def _vllm_mask(grammars: list[Any], allowed: list[int] | None, backend: Any) -> torch.Tensor:
    """The mask vLLM samples under: every grammar's bitmask AND allowed_token_ids."""
    mask = None
    for grammar in grammars:
        row = backend.allocate_token_bitmask(1)
        grammar.fill_bitmask(row, 0)
        mask = row[0].clone() if mask is None else mask & row[0]
    if mask is None:
        mask = torch.full((backend.allocate_token_bitmask(1).shape[1],), -1, dtype=torch.int32)
    if allowed is not None:
        bits = torch.zeros(mask.numel() * 32, dtype=torch.bool)
        bits[torch.tensor(allowed)] = True
        packed = torch.zeros(mask.numel(), dtype=torch.int64)
        weights = 2 ** torch.arange(32, dtype=torch.int64)
        packed = (bits.view(-1, 32).to(torch.int64) * weights).sum(dim=1)
        mask = mask & packed.to(torch.int64).bitwise_and(0xFFFFFFFF).to(torch.uint32).view(torch.int32)
    return mask


def _allows(mask: torch.Tensor, token: int) -> bool:
    return bool((int(mask[token >> 5]) >> (token & 31)) & 1)


def _walk(
    text: str, compiled: Any, backend: Any, llg_tok: Any, tokenizer: Any, vocab_size: int
) -> tuple[bool, bool, list[int]]:
    """Feed ``text``'s tokens to vLLM's grammars and to our decoding core side by side.

    Asserts that both masks are identical at every step; returns (vLLM accepts, we accept,
    tokens).
    """
    from vllm.v1.structured_output.backend_types import StructuredOutputOptions

    eos = tokenizer.eos_token_id
    ids = list(tokenizer.encode(text, add_special_tokens=False))
    params = build_sampling_params(compiled, GenerationParams(max_tokens=32), vocab_size=vocab_size, end_ids=[eos])
    grammars = [backend.compile_grammar(StructuredOutputOptions.GRAMMAR, g) for g in compiled.grammars]
    ours = ConstraintState.for_request(compiled, build_matchers(compiled, llg_tok), vocab_size, [eos])
    for step, token in enumerate([*ids, eos]):
        theirs = _vllm_mask(grammars, params.allowed_token_ids, backend)
        mine = torch.from_numpy(ours.compute_mask().copy())
        assert torch.equal(theirs, mine), f"masks differ at step {step} of {text!r}"
        if not _allows(theirs, token):
            return False, ours.allows(token), ids
        if token == eos:
            break
        assert all(g.accept_tokens("contract", [token]) for g in grammars)
        assert ours.consume(token) is None
    vllm_ok = all(g.ll_matcher.is_accepting() for g in grammars) if grammars else True
    return vllm_ok, ours.accepting(), ids


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_vllm_and_runtime_accept_the_same_texts(
    case: Case, compiled_cases: dict[str, Any], backend: Any, llg_tok: Any, tokenizer: Any, vocab_size: int
) -> None:
    compiled = compiled_cases[case.name]
    for text, expected in [(t, True) for t in case.valid] + [(t, False) for t in case.invalid]:
        vllm_ok, ours_ok, _ids = _walk(text, compiled, backend, llg_tok, tokenizer, vocab_size)
        assert vllm_ok == ours_ok, f"vLLM and Ananke disagree on {text!r}"
        if case.labelled:
            assert vllm_ok == expected, f"{case.name}: {text!r} should be {'accepted' if expected else 'rejected'}"
            assert ananke.matches(case.source, text) == expected  # byte-level view agrees too


def test_static_token_set_is_enforced_identically(backend: Any, llg_tok: Any, tokenizer: Any, vocab_size: int) -> None:
    nine = tokenizer.encode("9", add_special_tokens=False)
    assert len(nine) == 1
    source = {
        "kind": "composite",
        "op": "all_of",
        "parts": [{"kind": "regex", "pattern": "[0-9]+"}, {"kind": "token_mask", "forbidden_tokens": nine}],
    }
    compiled = ananke.compile(source, tokenizer=llg_tok)
    params = build_sampling_params(
        compiled, GenerationParams(), vocab_size=vocab_size, end_ids=[tokenizer.eos_token_id]
    )
    assert nine[0] not in params.allowed_token_ids
    assert tokenizer.eos_token_id in params.allowed_token_ids
    for text, expected in (("1234", True), ("1294", False)):
        vllm_ok, ours_ok, _ = _walk(text, compiled, backend, llg_tok, tokenizer, vocab_size)
        assert vllm_ok == ours_ok == expected


def test_replay_catches_what_vllm_would_let_through(
    compiled_cases: dict[str, Any], llg_tok: Any, tokenizer: Any
) -> None:
    """The engine's post-generation replay: complete text ok; EOS too early or a bad token is an error."""
    compiled = compiled_cases["json-object"]

    def matchers() -> list[Any]:
        return build_matchers(compiled, llg_tok).fork()

    good = list(tokenizer.encode('{"name":"Ada","age":36}', add_special_tokens=False))
    assert replay_tokens(matchers(), good, ended=True).ok
    early = replay_tokens(matchers(), good[:-1], ended=True)
    assert not early.ok and "before the grammar was complete" in early.error
    assert replay_tokens(matchers(), good[:-1], ended=False).ok  # cut by max_tokens: not an error here
    bad = list(tokenizer.encode('{"name":1}', add_special_tokens=False))
    rejected = replay_tokens(matchers(), bad, ended=True)
    assert not rejected.ok and rejected.error


def test_served_tokenizer_validation_rejects_unknown_special_tokens(llg_tok: Any, tokenizer: Any) -> None:
    known = ananke.compile({"kind": "grammar", "lark": 'start: "x" <|im_end|>'})
    assert "<|im_end|>" in tokenizer.get_vocab()
    validate_for_tokenizer(known, llg_tok)
    unknown = ananke.compile({"kind": "grammar", "lark": 'start: "x" <|no_such_token|>'})  # fine without a tokenizer
    with pytest.raises(ananke.ConstraintError, match="served tokenizer"):
        validate_for_tokenizer(unknown, llg_tok)
