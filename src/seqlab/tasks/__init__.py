"""Tasks bind data + model + loss + metrics + predict. One file per task.

Each task module offers the same few functions, used by :mod:`seqlab.run`:

* ``prepare(config, *, tokenizer=None) -> (tokenizer, task, meta)``: read and split the data,
  fit the tokenizer on the training part (or reuse a saved one), build the training contract;
* ``build_model(config, tokenizer, meta) -> nn.Module``: fresh weights;
* ``report(run, task, *, console) -> list[str]``: Markdown lines for summary.md (samples,
  predictions, plots), also shown on the console;

and, where the task has them:

* ``predict(run, inputs) -> list``: what :meth:`seqlab.run.Run.predict` returns;
* ``sample(run, prompt, *, max_tokens, temperature, top_k, top_p, seed, stop) -> Iterator[str]``:
  what :meth:`seqlab.run.Run.sample` streams;
* ``fit(model, task, train_config, *, run_dir, console, resume)``: a training regime of its own
  (the GAN's two-player step) instead of :func:`seqlab.training.fit`;
* ``model_to_load(config, tokenizer, meta) -> nn.Module``: the model :func:`seqlab.load` fills
  with saved weights, when building fresh ones costs something loading does not need
  (classification skips reading pretrained vectors).

The training contract object (``task`` above) follows :class:`seqlab.training.Task` and also has
``split_batches(split)``: every batch of ``"train"``, ``"val"`` or ``"test"`` in a fixed order.
"""

from __future__ import annotations

from types import ModuleType

from seqlab.errors import ConfigError, unknown_choice

TASK_MODULES = {
    "language-model": "seqlab.tasks.language_model",
    "classification": "seqlab.tasks.classification",
    "image-classification": "seqlab.tasks.image_classification",
    "autoencoder": "seqlab.tasks.autoencoder",
    "gan": "seqlab.tasks.gan",
    "series-autoencoder": "seqlab.tasks.autoencoder",
    "seq2seq": "seqlab.tasks.seq2seq",
    "forecast": "seqlab.tasks.forecast",
}


def get_task(name: str) -> ModuleType:
    """The module of a task name (imported on first use).

    >>> get_task("classification").NAME
    'classification'
    """
    import importlib

    if name not in TASK_MODULES:
        raise ConfigError(unknown_choice("task", name, list(TASK_MODULES)))
    return importlib.import_module(TASK_MODULES[name])
