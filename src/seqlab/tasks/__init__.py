"""Tasks bind data + model + loss + metrics + what a trained run can do. One class per task.

Every task is a class following the protocol of :class:`seqlab.tasks.base.Task` (prepare ->
:class:`~seqlab.tasks.base.Prepared`, build / load the model, example input, describe, report, and
predict / sample / inspect / generate / anomaly / forecast where the task has them). :data:`TASKS`
is the one literal table of task names; the config reads its sections from it too.

>>> get_task("seq2seq").name
'seq2seq'
>>> get_task("seq2sec")
Traceback (most recent call last):
...
seqlab.errors.ConfigError: unknown task "seq2sec"; did you mean seq2seq? (choices: ...)
"""

from __future__ import annotations

from seqlab.errors import ConfigError, unknown_choice
from seqlab.tasks.autoencoder import Autoencoding, SeriesAutoencoding
from seqlab.tasks.base import Prepared, Preprocessing, SplitData, SummaryPart, Task
from seqlab.tasks.classification import Classification
from seqlab.tasks.cyclegan import ImageTranslation
from seqlab.tasks.forecast import Forecasting
from seqlab.tasks.gan import ImageGeneration
from seqlab.tasks.image_classification import ImageClassification
from seqlab.tasks.language_model import LanguageModeling
from seqlab.tasks.seq2seq import Seq2Seq

TASKS: dict[str, type[Task]] = {
    "language-model": LanguageModeling,
    "classification": Classification,
    "image-classification": ImageClassification,
    "autoencoder": Autoencoding,
    "gan": ImageGeneration,
    "image-translation": ImageTranslation,
    "series-autoencoder": SeriesAutoencoding,
    "seq2seq": Seq2Seq,
    "forecast": Forecasting,
}


def get_task(name: str) -> Task:
    """The task of a name (its class holds no state, so a fresh instance is as good as any).

    Args:
        name: a task name, as in a config's ``task = "..."``.
    """
    if name not in TASKS:
        raise ConfigError(unknown_choice("task", name, list(TASKS)))
    return TASKS[name]()


__all__ = ["TASKS", "get_task", "Task", "Prepared", "Preprocessing", "SplitData", "SummaryPart"]
