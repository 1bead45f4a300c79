"""Sequence to sequence: translate a source text into a target text (translation, numbers, dates).

Binds pairs (a catalog dataset or a user's CSV / TSV / JSONL), one tokenizer fitted on both sides
of the training pairs (a shared vocabulary, with BOS and EOS), the model (a recurrent
encoder-decoder with a choice of attention, or an encoder-decoder Transformer), the loss
(cross-entropy of each target token and of EOS, padding ignored) and the metrics: loss and token
accuracy while training; exact match, BLEU and chrF (sacrebleu) of the decoded outputs at the
end, plus character-level BLEU when the targets are Korean.

Splits group pairs by target text, so a target (one number, one date in several renderings)
never appears both in training and in a held-out split.

>>> from seqlab.config import load_config
>>> cfg = load_config("num2words-ko")
>>> cfg.task, cfg.data.reverse
('seq2seq', True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data import Pairs, bucket_batches, joined_datasets, load_dataset, split_indices
from seqlab.data.batching import PairBatch
from seqlab.errors import ConfigError, DataError
from seqlab.metrics import score_texts
from seqlab.sections import PairsDataConfig, RecurrentSeq2SeqConfig, Section, TransformerConfig
from seqlab.tasks.base import Prepared, Preprocessing, SplitData, SummaryPart, Task
from seqlab.tasks.language_model import describe_sequence_model, text_stand_in
from seqlab.text import TextTokenizer, build_tokenizer

if TYPE_CHECKING:
    from rich.console import Console

    from seqlab.config import Config
    from seqlab.export import ExportGraph
    from seqlab.run import Run
HANGUL = range(0xAC00, 0xD7A4)


def _pad(rows: list[list[int]]) -> Tensor:
    out = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


@dataclass(frozen=True, eq=False)
class PairBatches(Sequence[PairBatch]):
    """Batches built lazily from index groups of one split.

    Args:
        sources, targets: the encoded pairs of the split.
        groups: the example indices of each batch.
        bos_id, eos_id: framing ids.
        split: the split's name.
        first_step: the global step of batch 0 (epoch * batches per epoch).
        decode: see :class:`PairBatch`.
    """

    sources: list[list[int]]
    targets: list[list[int]]
    groups: list[list[int]]
    bos_id: int
    eos_id: int
    split: str = "train"
    first_step: int = 0
    decode: bool = False

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> PairBatch:  # type: ignore[override]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        group = self.groups[i]
        src = _pad([self.sources[j] for j in group])
        return PairBatch(
            src=src,
            src_mask=src != 0,
            tgt_in=_pad([[self.bos_id, *self.targets[j]] for j in group]),
            tgt_out=_pad([[*self.targets[j], self.eos_id] for j in group]),
            index=torch.tensor(group, dtype=torch.long),
            split=self.split,
            step=self.first_step + i,
            decode=self.decode,
        )


def teacher_forcing_ratio(model_config: Section, step: int) -> float:
    """The teacher-forcing probability at ``step`` under the model's schedule.

    ``constant``: ``r``; ``linear``: from ``r`` down to ``teacher_forcing_min`` over
    ``teacher_forcing_decay`` steps; ``inverse-sigmoid`` (Bengio et al. 2015):
    ``r * k / (k + exp(step / k))`` with ``k = teacher_forcing_decay``, floored at the minimum.
    A Transformer always teacher-forces (ratio 1).

    >>> from seqlab.sections import RecurrentSeq2SeqConfig
    >>> cfg = RecurrentSeq2SeqConfig(
    ...     teacher_forcing_schedule="linear", teacher_forcing_min=0.5, teacher_forcing_decay=100
    ... )
    >>> teacher_forcing_ratio(cfg, 0), teacher_forcing_ratio(cfg, 50), teacher_forcing_ratio(cfg, 500)
    (1.0, 0.75, 0.5)
    """
    if not isinstance(model_config, RecurrentSeq2SeqConfig):
        return 1.0
    ratio, schedule = model_config.teacher_forcing, model_config.teacher_forcing_schedule
    if schedule == "constant":
        return ratio
    low, decay = model_config.teacher_forcing_min, model_config.teacher_forcing_decay
    if schedule == "linear":
        return max(low, ratio - (ratio - low) * step / decay)
    k = float(decay)
    return max(low, ratio * k / (k + math.exp(min(step / k, 700.0))))


class Seq2SeqTask:
    """The training contract (:class:`seqlab.training.Task`) for pairs.

    Args:
        splits: split name -> (encoded sources, encoded targets, target texts).
        tokenizer: the shared tokenizer (for decoding outputs into text).
        model_config: the ``[model]`` section (teacher-forcing schedule).
        batch_size: B.
        seed: fixes the batches of every epoch and the teacher-forcing coins.
        max_target_len: the most tokens decoded per output.
        beam_width, length_penalty: decoding of the final evaluation (1 = greedy).
        label_smoothing: of the training loss (``train.label_smoothing``).
        eval_examples: pairs decoded per split for the text metrics (0 = all).
        korean: also report character-level BLEU.
    """

    def __init__(
        self,
        splits: dict[str, tuple[list[list[int]], list[list[int]], list[str]]],
        *,
        tokenizer: TextTokenizer,
        model_config: Section,
        batch_size: int,
        seed: int,
        max_target_len: int = 64,
        beam_width: int = 1,
        length_penalty: float = 0.0,
        label_smoothing: float = 0.0,
        eval_examples: int = 0,
        korean: bool = False,
    ) -> None:
        self.label_smoothing = label_smoothing
        self.splits = splits
        self.tokenizer, self.model_config = tokenizer, model_config
        self.batch_size, self.seed = batch_size, seed
        self.max_target_len, self.beam_width, self.length_penalty = max_target_len, beam_width, length_penalty
        self.eval_examples, self.korean = eval_examples, korean
        self.bos_id, self.eos_id = tokenizer.bos_id, tokenizer.eos_id
        self._steps_per_epoch = len(self._groups("train", 0))

    def _groups(self, split: str, epoch: int | None) -> list[list[int]]:
        sources = self.splits[split][0]
        if not sources:
            return []
        lengths = [len(s) for s in sources]
        if epoch is None:
            return bucket_batches(lengths, self.batch_size, seed=self.seed, epoch=0, shuffle=False)
        return bucket_batches(lengths, self.batch_size, seed=self.seed, epoch=epoch)

    def _batches(
        self, split: str, groups: list[list[int]], *, first_step: int = 0, decode: bool = False
    ) -> PairBatches:
        sources, targets, _ = self.splits[split]
        return PairBatches(sources, targets, groups, self.bos_id, self.eos_id, split, first_step, decode)

    def train_batches(self, epoch: int) -> PairBatches:
        return self._batches("train", self._groups("train", epoch), first_step=epoch * self._steps_per_epoch)

    def split_batches(self, split: str, *, limit: int = 0) -> PairBatches:
        """Every pair of a split in batches sorted by length; the final metrics decode them."""
        groups = self._groups(split, None)
        return self._batches(split, groups[:limit] if limit else groups, decode=True)

    def val_batches(self) -> PairBatches:
        return self._batches("val", self._groups("val", None))

    def loss(self, model: nn.Module, batch: PairBatch) -> tuple[Tensor, dict[str, float]]:
        ratio = teacher_forcing_ratio(self.model_config, batch.step)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + batch.step) if ratio < 1.0 else None
        out = model(batch.src, batch.src_mask, batch.tgt_in, teacher_forcing=ratio, generator=generator)
        loss = F.cross_entropy(
            out.logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=0, label_smoothing=self.label_smoothing
        )
        return loss, ({"teacher_forcing": ratio} if ratio < 1.0 else {})

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Sequence[PairBatch]) -> dict[str, float]:
        total, count, correct = 0.0, 0, 0
        for batch in batches:
            logits = model(batch.src, batch.src_mask, batch.tgt_in).logits  # (B, T, V)
            real = batch.tgt_out != 0
            total += float(
                F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=0, reduction="sum")
            )
            correct += int(((logits.argmax(-1) == batch.tgt_out) & real).sum())
            count += int(real.sum())
        metrics = {"loss": total / max(count, 1), "token_accuracy": correct / max(count, 1)}
        if batches and batches[0].decode:
            metrics.update(self.text_metrics(model, batches))
        return metrics

    def text_metrics(self, model: nn.Module, batches: Sequence[PairBatch]) -> dict[str, float]:
        """Decode the batches' sources and score the outputs against the target texts."""
        hypotheses, references = [], []
        for batch in batches:
            if self.eval_examples and len(hypotheses) >= self.eval_examples:
                break
            outputs = translate_ids(
                model,
                batch.src,
                batch.src_mask,
                bos_id=self.bos_id,
                eos_id=self.eos_id,
                max_tokens=self.max_target_len,
                beam_width=self.beam_width,
                length_penalty=self.length_penalty,
            )
            hypotheses += [self.tokenizer.decode(ids) for ids in outputs]
            references += [self.splits[batch.split][2][int(i)] for i in batch.index]
        return score_texts(hypotheses, references, korean=self.korean)

    def count_tokens(self, batch: PairBatch) -> int:
        return int(batch.src_mask.sum()) + int((batch.tgt_out != 0).sum())


@torch.no_grad()
def translate_ids(
    model: nn.Module,
    src: Tensor,
    src_mask: Tensor,
    *,
    bos_id: int,
    eos_id: int,
    max_tokens: int,
    beam_width: int = 1,
    length_penalty: float = 0.0,
    n_best: int = 1,
) -> list[list[int]] | list[list[Any]]:
    """Decode (B, S) sources: greedy (``beam_width=1``) or beam search, through :mod:`seqlab.decode`.

    Returns the output ids of each source (``n_best > 1``: its hypotheses, best first).
    """
    from seqlab.decode import Conditioned, beam_search, greedy_batch

    was_training = model.training
    model.eval()
    try:
        source = Conditioned(model, model.start(src, src_mask))
        prompts = [[bos_id]] * src.shape[0]
        if beam_width == 1 and n_best == 1:
            return greedy_batch(source, prompts, max_tokens=max_tokens, eos_id=eos_id)
        found = beam_search(
            source,
            prompts,
            beam_width=beam_width,
            max_tokens=max_tokens,
            eos_id=eos_id,
            alpha=length_penalty,
            n_best=n_best,
        )
        return found if n_best > 1 else [list(hyps[0].ids) if hyps else [] for hyps in found]
    finally:
        model.train(was_training)


# ----------------------------------------------------------------------------- the task


class Seq2Seq(Task):
    """Source text -> target text: a recurrent encoder-decoder with attention, or a Transformer.

    >>> from seqlab.config import load_config
    >>> Seq2Seq().describe(load_config("num2words-ko"))
    'biGRU 1x192 + bahdanau'
    """

    name = "seq2seq"
    data_config = PairsDataConfig
    model_configs = {"rnn": RecurrentSeq2SeqConfig, "transformer": TransformerConfig}

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Read and split the pairs, fit the shared tokenizer on the training pairs (unless given), build the task."""

        data = config.data
        sources, targets = read_pairs(config)
        keys = sorted(set(targets))
        group_train, group_val, group_test = split_indices(
            len(keys), data.val_fraction, data.test_fraction, config.train.seed
        )
        where = {}
        for name, groups in (("train", group_train), ("val", group_val), ("test", group_test)):
            where.update({keys[g]: name for g in groups})
        members: dict[str, list[int]] = {"train": [], "val": [], "test": []}
        for i, target in enumerate(targets):
            members[where[target]].append(i)
        if not members["train"]:
            raise DataError(
                f"no training pairs left from {len(sources)} pairs; lower data.val_fraction / test_fraction"
            )
        if preprocessing is None:
            train_texts = [sources[i] for i in members["train"]] + [targets[i] for i in members["train"]]
            tokenizer = build_tokenizer(
                data.tokenizer, train_texts, vocab_size=data.vocab_size, lowercase=data.lowercase
            )
        else:
            assert isinstance(preprocessing, TextTokenizer), "a seq2seq model's preprocessing is a text tokenizer"
            tokenizer = preprocessing
        if tokenizer.bos_id is None or tokenizer.eos_id is None:
            raise ConfigError(
                f'data.tokenizer "{data.tokenizer}" has no BOS/EOS tokens, which seq2seq needs; '
                "use char, bpe, syllable or jamo"
            )
        splits = {}
        for name, idx in members.items():
            enc_sources = [tokenizer.encode(sources[i])[: data.max_source_len] or [tokenizer.unk_id] for i in idx]
            enc_targets = [tokenizer.encode(targets[i])[: data.max_target_len] for i in idx]
            splits[name] = (enc_sources, enc_targets, [targets[i] for i in idx])
        hangul = sum(any(ord(c) in HANGUL for c in t) for t in targets[:2000])
        korean = hangul > 0.5 * min(len(targets), 2000)
        task = Seq2SeqTask(
            splits,
            tokenizer=tokenizer,
            model_config=config.model,
            batch_size=config.train.batch_size,
            seed=config.train.seed,
            max_target_len=data.max_target_len,
            beam_width=data.beam_width,
            length_penalty=data.length_penalty,
            label_smoothing=config.train.label_smoothing,
            eval_examples=data.eval_examples,
            korean=korean,
        )
        meta = {
            "task": self.name,
            "vocab_size": tokenizer.vocab_size,
            "korean_targets": korean,
            "pairs": {name: len(idx) for name, idx in members.items()},
        }
        return Prepared(tokenizer, task, meta)

    def build_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> nn.Module:
        """The model a config describes (``model.arch``: rnn or transformer), with fresh weights."""
        m, data = config.model, config.data
        if isinstance(m, TransformerConfig):
            from seqlab.models.transformer import TransformerSeq2Seq

            return TransformerSeq2Seq(
                int(meta["vocab_size"]),
                embed_dim=m.embed_dim,
                num_heads=m.num_heads,
                num_layers=m.num_layers,
                ff_dim=m.ff_dim,
                dropout=m.dropout,
                max_len=max(data.max_source_len, data.max_target_len) + 2,
                positions=m.positions,
                tie_weights=m.tie_weights,
            )
        from seqlab.models.seq2seq import RecurrentSeq2Seq

        assert isinstance(m, RecurrentSeq2SeqConfig)

        return RecurrentSeq2Seq(
            int(meta["vocab_size"]),
            cell=m.cell,
            embed_dim=m.embed_dim,
            hidden_size=m.hidden_size,
            num_layers=m.num_layers,
            bidirectional=m.bidirectional,
            attention=m.attention,
            dropout=m.dropout,
        )

    def summary_inputs(self, config: Config) -> tuple[Any, dict[str, Any], str]:
        """A stand-in vocabulary size (it comes from the data)."""
        return text_stand_in(config)

    def example_input(self, config: Config, model: nn.Module, meta: dict[str, Any]) -> list[SummaryPart]:
        source = torch.ones(2, min(config.data.max_source_len, 32), dtype=torch.long)
        target = torch.ones(2, min(config.data.max_target_len, 32), dtype=torch.long)
        return [SummaryPart("", model, (source, source != 0, target))]

    def describe(self, config: Config) -> str:
        return describe_sequence_model(config.model)

    def predict(
        self, run: Run, inputs: Sequence[Any], *, beam_width: int | None = None, n_best: int = 1
    ) -> list[Translation]:
        """Translate each input (greedy or beam search; see :func:`translate_texts`)."""
        return translate_texts(run, [str(text) for text in inputs], beam_width=beam_width, n_best=n_best)

    def inspect(
        self,
        run: Run,
        text: str,
        *,
        out_dir: Path | None = None,
        layer: str | None = None,
        beam_width: int | None = None,
    ) -> AttentionView:
        """Translate ``text`` and draw where each output token looked (``inspect-attention.png``)."""
        target = (Path(out_dir) if out_dir is not None else Path(run.run_dir)) / "inspect-attention.png"
        return attention_for(run, text, out_path=target, beam_width=beam_width)

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """Sample translations of test pairs (or validation), printed and returned as Markdown."""
        assert isinstance(data, Seq2SeqTask)
        return _report(run, data, console=console)

    def export_graphs(self, run: Run) -> list[ExportGraph]:
        """An encoder and a decoder: a recurrent model's decoder reads one id after its state, a
        Transformer's reads the whole target so far (BOS first) against the encoder memory, without a cache."""
        from seqlab.export import (
            ExportGraph,
            RecurrentDecoderStep,
            RecurrentEncoder,
            TransformerDecoder,
            TransformerEncoder,
            projects_keys,
        )
        from seqlab.models.seq2seq import RecurrentSeq2Seq

        model, vocab, bos = run.model, int(run.meta["vocab_size"]), run.tokenizer.bos_id
        src = torch.tensor([[5, 6, 7, 8, 9], [10, 11, 12, 0, 0]]) % vocab  # (B, S), post-padded
        other = torch.tensor([[4, 3, 2]]) % vocab  # the check: another batch size and length
        source = {0: "batch", 1: "source"}
        end = f"greedy: append the best id until EOS ({run.tokenizer.eos_id})"
        if not isinstance(model, RecurrentSeq2Seq):
            encoder, decoder = TransformerEncoder(model), TransformerDecoder(model)
            tgt = torch.tensor([[bos, 5, 6], [bos, 7, 0]])  # (B, T)
            enc_axes = {"src": source, "mask": source, "memory": source}
            dec_axes = {"tgt": {0: "batch", 1: "target"}, "memory": source, "mask": source}
            dec_axes["logits"] = {0: "batch", 1: "target"}
            with torch.no_grad():
                memory, memory1 = encoder(src, src != 0), encoder(other, other != 0)
            return [
                ExportGraph(
                    "encoder", encoder, (src, src != 0), ("src", "mask"), ("memory",), enc_axes, ((other, other != 0),)
                ),
                ExportGraph(
                    "decoder",
                    decoder,
                    (tgt, memory, src != 0),
                    ("tgt", "memory", "mask"),
                    ("logits",),
                    dec_axes,
                    ((tgt[:1, :2], memory1, other != 0),),
                    f"logits (B, T, V) of the target so far, BOS ({bos}) first; {end}",
                ),
            ]
        encoder, decoder = RecurrentEncoder(model), RecurrentDecoderStep(model)
        parts = ("h", "c") if model.cell == "lstm" else ("h",)
        keys = ("keys", "projected") if projects_keys(model) else ("keys",)
        enc_axes = {"src": source, "mask": source, **{n: {1: "batch"} for n in parts}, **{k: source for k in keys}}
        dec_axes = {"ids": {0: "batch"}, "logits": {0: "batch"}, "mask": source, **{k: source for k in keys}}
        dec_axes |= {n: {1: "batch"} for n in (*parts, *(f"{p}_out" for p in parts))}
        with torch.no_grad():
            started, started1 = encoder(src, src != 0), encoder(other, other != 0)

        def step_inputs(ids: Tensor, out: tuple[Tensor, ...], mask: Tensor) -> tuple[Tensor, ...]:
            return (ids, *out[: len(parts)], out[len(parts)], mask, *out[len(parts) + 1 :])

        return [
            ExportGraph(
                "encoder", encoder, (src, src != 0), ("src", "mask"), (*parts, *keys), enc_axes, ((other, other != 0),)
            ),
            ExportGraph(
                "decoder_step",
                decoder,
                step_inputs(torch.full((2, 1), bos), started, src != 0),
                ("ids", *parts, keys[0], "mask", *keys[1:]),
                ("logits", *(f"{p}_out" for p in parts)),
                dec_axes,
                (step_inputs(torch.full((1, 1), bos), started1, other != 0),),
                f"one id (B, 1) after the state, BOS ({bos}) first; {end}",
            ),
        ]


# ----------------------------------------------------------------------------- helpers


def read_pairs(config: Config) -> tuple[list[str], list[str]]:
    """The (source, target) texts of a config's dataset, checked, and swapped with ``data.reverse``."""
    data = config.data
    sources, targets = [], []
    for name, limit in joined_datasets(data.dataset, limit=data.limit, limits=data.limits):  # "a+b" joins pair datasets
        dataset = load_dataset(
            name, source_column=data.source_column, target_column=data.target_column, limit=limit, shape="pairs"
        )
        if not isinstance(dataset, Pairs):
            raise DataError(f'task "seq2seq" needs pairs, but dataset "{name}" holds {type(dataset).__name__}')
        sources += dataset.sources
        targets += dataset.targets
    for side, texts, column in (("source", sources, data.source_column), ("target", targets, data.target_column)):
        empty = [i for i, text in enumerate(texts) if not text.strip()]
        if empty:
            where = ", ".join(str(i + 1) for i in empty[:5]) + (" ..." if len(empty) > 5 else "")
            raise DataError(
                f'{data.dataset}: {len(empty)} pair(s) have an empty {side} (column "{column}"), at record(s) {where}; '
                "remove them or fill them in"
            )
    if data.reverse:
        sources, targets = targets, sources
    return sources, targets


@dataclass(frozen=True)
class Translation:
    """One translated text: the best output and, with ``n_best``, the alternatives with their scores."""

    source: str
    text: str
    alternatives: tuple[tuple[str, float], ...] = ()


def encode_sources(run: Run, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
    """Source texts -> padded (B, S) ids and mask, cut at the run's ``data.max_source_len``."""
    rows = []
    for text in texts:
        ids = run.tokenizer.encode(text)[: run.config.data.max_source_len]
        if not ids:
            raise DataError(f"the text {text!r} has no tokens for this run's tokenizer; give some text")
        rows.append(ids)
    src = _pad(rows).to(next(run.model.parameters()).device)  # beside the weights (a run loaded onto a GPU)
    return src, src != 0


def translate_texts(
    run: Run,
    texts: Sequence[str],
    *,
    beam_width: int | None = None,
    n_best: int = 1,
    length_penalty: float | None = None,
) -> list[Translation]:
    """Translate texts with a run (greedy or beam search).

    Args:
        run: a loaded seq2seq run.
        texts: source texts.
        beam_width: beam width (default: the run's ``data.beam_width``; 1 = greedy).
        n_best: alternatives to return per text (at most ``beam_width``).
        length_penalty: GNMT alpha (default: the run's ``data.length_penalty``).
    """
    data = run.config.data
    beam = beam_width or data.beam_width
    if n_best > beam:
        raise ConfigError(f"n_best ({n_best}) cannot exceed the beam width ({beam})")
    src, mask = encode_sources(run, texts)
    tok = run.tokenizer
    alpha = data.length_penalty if length_penalty is None else length_penalty
    found = translate_ids(
        run.model,
        src,
        mask,
        bos_id=tok.bos_id,
        eos_id=tok.eos_id,
        max_tokens=data.max_target_len,
        beam_width=beam,
        length_penalty=alpha,
        n_best=n_best,
    )
    results = []
    for text, out in zip(texts, found):
        if n_best > 1:
            alts = tuple((tok.decode(list(h.ids)), h.score) for h in out)
            results.append(Translation(text, alts[0][0] if alts else "", alts))
        else:
            results.append(Translation(text, tok.decode(out)))
    return results


def display_tokens(tokenizer: TextTokenizer, ids: Sequence[int]) -> list[str]:
    """Readable token strings for plot axes (byte-level BPE pieces decoded; spaces shown as ␣)."""
    shown = []
    for i in ids:
        text = tokenizer.decode([i]) if tokenizer.type == "bpe" else tokenizer.id_to_token(i)
        text = text if text not in ("", "\ufffd") else tokenizer.id_to_token(i)
        shown.append(text.replace(" ", "␣") if text.strip() else "␣")
    return shown


def _has_attention(config: Config) -> bool:
    """A Transformer always attends; a recurrent encoder-decoder unless ``model.attention = "none"``."""
    return not (isinstance(config.model, RecurrentSeq2SeqConfig) and config.model.attention == "none")


@dataclass
class AttentionView:
    """What :func:`attention_for` found: tokens on both sides, the weights, the figure file."""

    source_tokens: list[str]
    target_tokens: list[str]
    weights: Tensor
    translation: str
    figure_path: Path | None = None


def attention_for(run: Run, text: str, *, out_path: Path | None = None, beam_width: int | None = None) -> AttentionView:
    """Translate ``text`` and draw the attention of each output token over the source tokens.

    The output (greedy, or beam search) is read back teacher-forced, and the weights of every
    output token and of EOS are drawn with :func:`seqlab.viz.plot_attention` (a Transformer: its
    last decoder block's cross-attention averaged over heads).

    Args:
        run: a loaded seq2seq run.
        text: the source text.
        out_path: where the PNG goes (default ``<run>/attention.png``); the figure is always made.
        beam_width: decode with this beam (default the run's setting).
    """
    from seqlab.viz import plot_attention

    if not _has_attention(run.config):
        raise ConfigError(f'{run.run_dir} has no attention (model.attention = "none"); inspect a run with attention')
    tok = run.tokenizer
    src, mask = encode_sources(run, [text])
    beam = beam_width or run.config.data.beam_width
    out = translate_ids(
        run.model,
        src,
        mask,
        bos_id=tok.bos_id,
        eos_id=tok.eos_id,
        max_tokens=run.config.data.max_target_len,
        beam_width=beam,
        length_penalty=run.config.data.length_penalty,
    )[0]
    with torch.no_grad():
        result = run.model.eval()(src, mask, torch.tensor([[tok.bos_id, *out]], device=src.device), need_weights=True)
    assert result.attention is not None
    weights = result.attention[0].float().cpu()  # (T, S)
    source_tokens = display_tokens(tok, src[0].tolist())
    target_tokens = display_tokens(tok, out) + ["<eos>"]
    translation = tok.decode(out)
    figure = plot_attention(
        weights.numpy(), source_tokens, target_tokens, title=f"{run.config.name}: {text[:40]} -> {translation[:40]}"
    )
    path = Path(out_path) if out_path is not None else Path(run.run_dir) / "attention.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return AttentionView(source_tokens, target_tokens, weights, translation, path)


def _report(run: Run, task: Seq2SeqTask, *, console: Console) -> list[str]:
    """Sample translations of test pairs (or validation), printed and returned as Markdown."""
    from rich.markup import escape

    count = run.config.data.samples
    split = "test" if task.splits["test"][0] else "val"
    sources_ids, _, references = task.splits[split]
    if not count or not sources_ids:
        return []
    count = min(count, len(sources_ids))
    tok = run.tokenizer
    chosen = [round(i * (len(sources_ids) - 1) / max(count - 1, 1)) for i in range(count)]  # spread over the split
    src = _pad([sources_ids[i] for i in chosen])
    outputs = translate_ids(
        run.model,
        src,
        src != 0,
        bos_id=tok.bos_id,
        eos_id=tok.eos_id,
        max_tokens=task.max_target_len,
        beam_width=task.beam_width,
        length_penalty=task.length_penalty,
    )
    decoding = "greedy" if task.beam_width == 1 else f"beam {task.beam_width}"
    lines = [
        f"## Sample translations ({split} split, {decoding})",
        "",
        "| source | reference | output | exact |",
        "|---|---|---|---|",
    ]
    console.print(f"[bold]sample translations[/] ({split}, {decoding}):")

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    for i, out in zip(chosen, outputs):
        source, reference, output = tok.decode(sources_ids[i]), references[i], tok.decode(out)
        same = "yes" if output.strip() == reference.strip() else "no"
        lines.append(f"| {cell(source)} | {cell(reference)} | {cell(output)} | {same} |")
        console.print(f"  {escape(source)} -> {escape(output)}  [dim](reference: {escape(reference)})[/]")
    lines.append("")
    if _has_attention(run.config):
        view = attention_for(run, tok.decode(sources_ids[chosen[0]]))
        lines += [
            f"Attention of the first sample ({view.figure_path.name}):",
            "",
            f"![attention]({view.figure_path.name})",
            "",
        ]
    return lines


__all__ = [
    "Seq2Seq",
    "PairBatches",
    "Seq2SeqTask",
    "teacher_forcing_ratio",
    "translate_ids",
    "translate_texts",
    "Translation",
    "attention_for",
    "AttentionView",
    "read_pairs",
]
