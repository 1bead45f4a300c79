"""Talk to what you trained: an OpenAI-compatible server, a terminal chat and a Streamlit page.

* :mod:`seqlab.serve.engine`: adapters that turn a run into text generations, and the engine
  that runs them off the event loop;
* :mod:`seqlab.serve.protocol`: the OpenAI request and response shapes;
* :mod:`seqlab.serve.app`: the FastAPI app (``seqlab serve``);
* :mod:`seqlab.serve.terminal`: the terminal chat (``seqlab chat``);
* :mod:`seqlab.serve.ui_app`: the Streamlit chat page (``seqlab ui``).

Replies are sampled with :class:`seqlab.decode.SamplingParams` and come back as a
:class:`seqlab.generation.Generation`, made by :func:`seqlab.generation.generate_text` (the path
:meth:`seqlab.run.Run.sample` takes too).

Importing this package imports neither FastAPI nor torch.

>>> from seqlab.serve import Generation
>>> list(Generation(iter(["a", "b"]), prompt_tokens=1))
['a', 'b']
"""

from seqlab.generation import Generation
from seqlab.serve.engine import (
    ADAPTERS,
    Engine,
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
    "LanguageModelAdapter",
    "PromptError",
    "PromptTooLongError",
    "Seq2SeqAdapter",
    "adapter_for",
]
