"""Ananke inside your own code: constraints enforced by libraries Ananke does not run.

* :mod:`ananke.integrations.transformers` — :class:`AnankeLogitsProcessor`, a logits
  processor for ``model.generate(..., logits_processor=[...])`` (needs ``ananke[local]``);
* :mod:`ananke.integrations.vllm` — :func:`structured_outputs`, the ``extra_body`` that
  sends a compiled constraint to a vLLM OpenAI-compatible server someone else runs.

Neither submodule is imported here: importing ``ananke.integrations`` loads nothing heavy.
"""

__all__: list[str] = []
