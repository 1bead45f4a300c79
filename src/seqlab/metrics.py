"""Pure metric functions: predictions and truths in, numbers out.

No files, no logging, no model: a task computes its predictions, then scores them here. (The
metrics *log* a training run writes is :mod:`seqlab.training.metrics`.) Forecast and anomaly
metrics take NumPy arrays; classification metrics take torch tensors, importing torch only when
called.

>>> import numpy as np
>>> truth, forecast = np.array([100.0, 200.0]), np.array([110.0, 180.0])
>>> mae(truth, forecast), rmse(truth, forecast) > mae(truth, forecast)
(15.0, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from torch import Tensor

# ----------------------------------------------------------------------------- forecasts


def mae(truth: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute error over every element.

    Args:
        truth: the observed values, any shape, e.g. (W, horizon, C).
        forecast: the forecasts, the same shape.

    >>> mae(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    1.5
    """
    error = np.asarray(forecast, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return float(np.mean(np.abs(error)))


def rmse(truth: np.ndarray, forecast: np.ndarray) -> float:
    """Root mean squared error over every element.

    Args:
        truth: the observed values, any shape.
        forecast: the forecasts, the same shape.

    >>> rmse(np.array([0.0, 0.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0, 5.0]))
    2.6457513110645907
    """
    error = np.asarray(forecast, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return float(np.sqrt(np.mean(error**2)))


def mape(truth: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error (%), skipping targets that are exactly 0; NaN when all are.

    A ratio to 0 is undefined, and sunspot counts have zeros.

    Args:
        truth: the observed values, any shape.
        forecast: the forecasts, the same shape.

    >>> mape(np.array([0.0, 100.0]), np.array([5.0, 90.0]))
    10.0
    """
    truth = np.asarray(truth, dtype=np.float64)
    error = np.asarray(forecast, dtype=np.float64) - truth
    nonzero = truth != 0
    return float(np.mean(np.abs(error[nonzero] / truth[nonzero])) * 100) if nonzero.any() else float("nan")


def smape(truth: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric mean absolute percentage error (%): ``2|f - y| / (|y| + |f|)``; 0 against 0 is no error.

    Args:
        truth: the observed values, any shape.
        forecast: the forecasts, the same shape.

    >>> smape(np.array([0.0, 100.0]), np.array([0.0, 300.0]))
    50.0
    """
    truth = np.asarray(truth, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    error = forecast - truth
    denominator = np.abs(truth) + np.abs(forecast)
    ratio = np.divide(2 * np.abs(error), denominator, out=np.zeros_like(error), where=denominator > 0)
    return float(np.mean(ratio) * 100)


def forecast_metrics(truth: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, MAPE (%) and sMAPE (%) over every window, step and column.

    Args:
        truth: the observed values, e.g. (W, horizon, C) on the original scale.
        forecast: the forecasts, the same shape.

    >>> forecast_metrics(np.array([100.0, 200.0]), np.array([110.0, 180.0]))
    {'mae': 15.0, 'rmse': 15.811388300841896, 'mape': 10.0, 'smape': 10.025062656641603}
    """
    return {
        "mae": mae(truth, forecast),
        "rmse": rmse(truth, forecast),
        "mape": mape(truth, forecast),
        "smape": smape(truth, forecast),
    }


# ----------------------------------------------------------------------------- classification


def confusion_matrix(targets: Tensor, predictions: Tensor, num_classes: int) -> Tensor:
    """Counts (C, C): rows are true classes, columns predicted ones.

    Args:
        targets: (N,) true class ids.
        predictions: (N,) predicted class ids.
        num_classes: C.

    >>> import torch
    >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2)
    tensor([[1, 0],
            [1, 1]])
    """
    import torch

    flat = targets * num_classes + predictions
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def macro_f1(matrix: Tensor) -> float:
    """Unweighted mean of the per-class F1 scores of a confusion matrix.

    Args:
        matrix: (C, C) counts, rows true classes (:func:`confusion_matrix`).

    >>> import torch
    >>> round(macro_f1(torch.tensor([[1, 0], [1, 1]])), 4)
    0.6667
    """
    matrix = matrix.double()
    tp = matrix.diag()
    precision = tp / matrix.sum(0).clamp(min=1)
    recall = tp / matrix.sum(1).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return float(f1.mean())


# ----------------------------------------------------------------------------- anomaly detection


def roc_curve(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate, thresholds) as the threshold falls through the scores.

    Args:
        scores: (N,) anomaly scores, higher is more anomalous.
        positive: (N,) 1 for a true anomaly, 0 otherwise.

    >>> fpr, tpr, _ = roc_curve(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    order = np.argsort(-scores, kind="stable")
    hits = positive[order].astype(np.float64)
    tp, fp = np.concatenate([[0], np.cumsum(hits)]), np.concatenate([[0], np.cumsum(1 - hits)])
    return fp / max(fp[-1], 1), tp / max(tp[-1], 1), np.concatenate([[np.inf], scores[order]])


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random negative (ties half).

    Args:
        scores: (N,) anomaly scores.
        positive: (N,) 1 for a true anomaly, 0 otherwise; NaN when either class is absent.

    >>> roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
    """
    n_pos, n_neg = int(positive.sum()), int((1 - positive).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = _ranks(scores)
    return float((ranks[positive == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))  # Mann-Whitney U


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    sorted_values = values[order]
    starts = np.concatenate([[0], np.nonzero(np.diff(sorted_values))[0] + 1, [len(values)]])
    for a, b in zip(starts[:-1], starts[1:]):  # ties get their mean rank
        if b - a > 1:
            ranks[order[a:b]] = (a + b + 1) / 2
    return ranks


def precision_recall(scores: np.ndarray, positive: np.ndarray, threshold: float) -> tuple[float, float, float, float]:
    """(false positive rate, recall, precision, recall) of flagging ``scores > threshold``.

    Args:
        scores: (N,) anomaly scores.
        positive: (N,) 1 for a true anomaly, 0 otherwise.
        threshold: scores above it are flagged.

    >>> precision_recall(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]), 0.3)
    (0.5, 1.0, 0.6666666666666666, 1.0)
    """
    flagged = scores > threshold
    tp = float((flagged & (positive == 1)).sum())
    fp = float((flagged & (positive == 0)).sum())
    recall = tp / max(float(positive.sum()), 1.0)
    precision = tp / (tp + fp) if tp + fp else 1.0
    return fp / max(float((positive == 0).sum()), 1.0), recall, precision, recall


def score_texts(hypotheses: Sequence[str], references: Sequence[str], *, korean: bool = False) -> dict[str, float]:
    """Exact match (share of outputs equal to the reference), BLEU and chrF (sacrebleu, 0-100).

    With ``korean`` also ``bleu_char``: BLEU over characters, which does not punish Korean's
    agglutinated words as word-level BLEU does.

    Args:
        hypotheses: the decoded outputs.
        references: the reference texts, one per output.
        korean: also compute character-level BLEU.

    >>> scores = score_texts(["2024-03-15", "1987"], ["2024-03-15", "1988"])
    >>> scores["exact_match"]
    0.5
    """
    import sacrebleu

    if not hypotheses:
        return {}
    exact = sum(h.strip() == r.strip() for h, r in zip(hypotheses, references)) / len(hypotheses)
    scores = {
        "exact_match": exact,
        "bleu": sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score,
        "chrf": sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score,
    }
    if korean:
        scores["bleu_char"] = sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize="char").score
    return scores
