"""Talk to what you trained: an OpenAI-compatible server, a terminal chat and a Streamlit page.

* :mod:`seqlab.serve.engine`: adapters that turn a run into text generations, and the engine
  that runs them off the event loop;
* :mod:`seqlab.serve.protocol`: the OpenAI request and response shapes;
* :mod:`seqlab.serve.app`: the FastAPI app (``seqlab serve``);
* :mod:`seqlab.serve.terminal`: the terminal chat (``seqlab chat``);
* :mod:`seqlab.serve.ui_app`: the Streamlit chat page (``seqlab ui``).

Importing this package imports neither FastAPI nor torch.

>>> from seqlab.serve import GenerationParams
>>> GenerationParams(max_tokens=5).max_tokens
5
"""

from seqlab.serve.engine import (
    ADAPTERS,
    Engine,
    Generation,
    GenerationParams,
    LanguageModelAdapter,
    PromptError,
    PromptTooLongError,
    Seq2SeqAdapter,
    adapter_for,
)

__all__ = [
    "ADAPTERS",
    "Engine",
    "Generation",
    "GenerationParams",
    "LanguageModelAdapter",
    "PromptError",
    "PromptTooLongError",
    "Seq2SeqAdapter",
    "adapter_for",
]
