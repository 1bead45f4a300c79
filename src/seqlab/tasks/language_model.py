"""Text generation: a language model over any tokenizer, trained on any corpus.

Binds data (a corpus split in order into train / validation / test), the tokenizer (fitted on
the training part only), the model (:class:`~seqlab.models.language_model.RecurrentLM`), the loss
(cross-entropy of the next token) and the metrics (loss in nats per token, bits per token,
perplexity).

The corpus is tokenized once into a memory-mapped token file in the cache
(:func:`seqlab.data.tokens.token_file`, keyed by the corpus's sha256 and the tokenizer; each
process of a distributed run maps the same file, built by rank 0). A corpus that is one text
file (a ``.txt``, or a catalog corpus such as ``shakespeare``) is never read whole: its characters
are counted in one streaming pass, the tokenizer is fitted from a second
(:data:`FIT_SAMPLE_CHARS`), and the file itself goes to the token file, so peak memory does not
grow with the corpus. The splits are contiguous runs of token positions of that file: the last
``test_fraction`` of the tokens is the test split, the ``val_fraction`` before it validation, the
rest training. Batches read their windows from the token file (with ``pread``:
:func:`seqlab.data.tokens.read_windows`), so the ids never sit in memory as a tensor.

Training windows are ``block_size + 1`` tokens cut at random offsets of the training ids, fresh
for every epoch but fixed by (seed, epoch), so a resumed run sees exactly the batches the
uninterrupted run would have seen.

With ``data.stateful`` (a recurrent model) the windows are read as char-rnn reads them instead:
truncated backpropagation through time (Williams & Peng 1990; Karpathy's char-rnn). Each split is
laid out as B parallel streams (:class:`Streams`), each batch continues every stream where the
previous batch ended, and the recurrent state is carried from one batch to the next, detached, so
gradients span ``block_size`` tokens while the model reads with all the context of its stream.
Evaluation carries its own state across consecutive windows the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data import Batch, Corpus, Pairs, corpus_file, joined_datasets, load_dataset, read_text, split_corpus
from seqlab.errors import ConfigError, DataError
from seqlab.models.language_model import RecurrentLM
from seqlab.sections import RecurrentConfig, RecurrentSeq2SeqConfig, Section, TextDataConfig, TransformerConfig
from seqlab.tasks.base import Prepared, Preprocessing, SplitData, SummaryPart, Task
from seqlab.text import TextTokenizer, build_tokenizer
from seqlab.text.chat import DEFAULT_TEMPLATE, ChatTemplate

if TYPE_CHECKING:
    from rich.console import Console

    from seqlab.config import Config
    from seqlab.decode import SamplingParams
    from seqlab.distributed import DistributedContext
    from seqlab.export import ExportGraph
    from seqlab.inspection import Inspection
    from seqlab.run import Run


class DrawnStarts:
    """The rows of ``torch.randint(0, high, (num_batches, B))`` from a seeded generator, drawn again on demand.

    A training epoch has a row of B window offsets per batch: 31 MB of int64 for a corpus of 500 M
    tokens, growing with it. This keeps instead the generator's state (5 KB) at the start of every
    :attr:`CHUNK` rows, and draws again the chunk a row falls in (the last chunk is kept), so the
    rows are exactly those of the one big draw: torch's CPU generator draws a tensor element by
    element, so drawing it a chunk at a time gives the same numbers.

    Args:
        high: offsets are drawn from 0 .. high - 1.
        num_batches: rows.
        batch_size: B, offsets per row.
        seed: the generator's seed.

    >>> drawn = DrawnStarts(1000, num_batches=10, batch_size=4, seed=7)
    >>> whole = torch.randint(0, 1000, (10, 4), generator=torch.Generator().manual_seed(7))
    >>> len(drawn), all(torch.equal(drawn[i], whole[i]) for i in (9, 0, 5, -1))
    (10, True)
    """

    CHUNK = 4096  # rows per chunk: 1 MB of offsets at B = 32

    def __init__(self, high: int, *, num_batches: int, batch_size: int, seed: int) -> None:
        self.high, self.num_batches, self.batch_size = high, num_batches, batch_size
        generator = torch.Generator().manual_seed(seed)
        self.states: list[Tensor] = []
        for first in range(0, num_batches, self.CHUNK):
            self.states.append(generator.get_state())
            self._draw(generator, first)  # only to move the generator on
        self._kept: tuple[int, Tensor] | None = None

    def _draw(self, generator: torch.Generator, first: int) -> Tensor:
        rows = min(self.CHUNK, self.num_batches - first)
        return torch.randint(0, self.high, (rows, self.batch_size), generator=generator)  # (rows, B)

    def __len__(self) -> int:
        return self.num_batches

    def __getitem__(self, index: int) -> Tensor:
        """Row ``index``: (B,) offsets."""
        if not -self.num_batches <= index < self.num_batches:
            raise IndexError(index)
        index %= self.num_batches
        chunk = index // self.CHUNK
        if self._kept is None or self._kept[0] != chunk:
            generator = torch.Generator()
            generator.set_state(self.states[chunk])
            self._kept = (chunk, self._draw(generator, chunk * self.CHUNK))
        return self._kept[1][index % self.CHUNK]


@dataclass(frozen=True, eq=False)
class LMBatches(Sequence[Batch]):
    """An epoch of (B, block_size) input windows and their shifted targets, built lazily.

    Args:
        ids: (N,) the token ids of one split: a tensor, or a NumPy array (a slice of a token file's memmap,
            read a window at a time).
        starts: (num_batches, B) the offset of each window: a tensor, or the rows a :class:`DrawnStarts` draws.
        block_size: T.
    """

    ids: Tensor | np.ndarray[Any, Any]
    starts: Tensor | DrawnStarts
    block_size: int

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> Batch:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        window = _windows(self.ids, self.starts[index], self.block_size)  # (B, T+1)
        return Batch(**_next_token(window))


@dataclass(frozen=True)
class StreamBatch(Batch):
    """A :class:`Batch` of windows that continue B streams, and where the windows are in them.

    Args:
        position: which window of each stream this is (0 = the streams' first).
        fresh: the recurrent state starts from zeros here instead of from the previous batch's.
    """

    position: int = 0
    fresh: bool = True


@dataclass(frozen=True, eq=False)
class Streams(Sequence[StreamBatch]):
    """A split read as parallel streams of consecutive windows, for truncated backprop through time.

    The tokens from ``offset`` on are cut into ``groups * batch_size`` equal streams of ``length``
    tokens; window ``p`` of a stream starts ``p * block_size`` tokens into it, so window ``p + 1``
    continues where window ``p`` ends. Item ``k`` holds window ``k // groups`` of the ``batch_size``
    streams of group ``k % groups``: with one group, batch ``k + 1`` continues every row of batch
    ``k``; with ``groups`` processes, :func:`seqlab.distributed.shard` gives rank ``r`` items
    ``r, r + groups, ...``, i.e. its own streams, continued batch after batch.

    Args:
        ids: (N,) the token ids of one split (a tensor, or a slice of a token file's memmap).
        block_size: T.
        batch_size: B, streams per group.
        groups: W, the processes that share the split (1 outside torchrun).
        offset: tokens skipped at the start (a training epoch's random shift of the window borders).
        reset_every: the state also starts afresh at every multiple of this many steps, counting
            ``first_step`` at window 0 (0 = only at window 0).
        first_step: the step count at window 0 (a training epoch: epoch * windows per stream).
        limit: at most this many windows per stream (0 = all).

    >>> streams = Streams(torch.arange(26), block_size=3, batch_size=2)
    >>> len(streams), streams.length, [b.ids[:, 0].tolist() for b in streams]  # each row reads on
    (4, 12, [[0, 12], [3, 15], [6, 18], [9, 21]])
    >>> streams[1].ids.tolist(), streams[1].targets.tolist()
    ([[3, 4, 5], [15, 16, 17]], [[4, 5, 6], [16, 17, 18]])
    >>> [(b.position, b.fresh) for b in Streams(torch.arange(26), block_size=3, batch_size=2, reset_every=2)]
    [(0, True), (1, False), (2, True), (3, False)]
    """

    ids: Tensor | np.ndarray[Any, Any]
    block_size: int
    batch_size: int
    groups: int = 1
    offset: int = 0
    reset_every: int = 0
    first_step: int = 0
    limit: int = 0

    @property
    def length(self) -> int:
        """Tokens per stream (its last window's target reads one token past it)."""
        return max(0, len(self.ids) - self.offset - 1) // (self.groups * self.batch_size)

    @property
    def positions(self) -> int:
        """Windows per stream."""
        whole = self.length // self.block_size
        return min(whole, self.limit) if self.limit else whole

    def __len__(self) -> int:
        return self.positions * self.groups

    def starts(self, index: int) -> Tensor:
        """(B,) the offsets in ``ids`` of item ``index``'s windows."""
        position, group = divmod(index, self.groups)
        streams = group * self.batch_size + torch.arange(self.batch_size)  # (B,)
        return self.offset + streams * self.length + position * self.block_size

    def __getitem__(self, index: int) -> StreamBatch:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        position = index // self.groups
        step = self.first_step + position
        fresh = position == 0 or (self.reset_every > 0 and step % self.reset_every == 0)
        window = _windows(self.ids, self.starts(index), self.block_size)
        return StreamBatch(**_next_token(window), position=position, fresh=fresh)


def _next_token(window: Tensor) -> dict[str, Tensor]:
    """A :class:`Batch`'s fields for (B, T + 1) windows: the first T ids read (all real), the last T predicted."""
    B, T = window.shape[0], window.shape[1] - 1
    return {
        "ids": window[:, :-1],
        "lengths": torch.full((B,), T, dtype=torch.long),
        "mask": torch.ones(B, T, dtype=torch.bool),
        "targets": window[:, 1:],
    }


def _windows(ids: Tensor | np.ndarray[Any, Any], starts: Tensor, block_size: int) -> Tensor:
    """(B, T + 1) int64 windows at ``starts`` (B,): indexed from a tensor, read with ``pread`` from a memmap."""
    if isinstance(ids, Tensor):
        return ids[starts.unsqueeze(1) + torch.arange(block_size + 1)]
    from seqlab.data.tokens import read_windows

    return torch.from_numpy(read_windows(ids, starts.numpy(), block_size + 1).astype(np.int64))


class LanguageModelTask:
    """The training contract (:class:`seqlab.training.Task`) for next-token prediction.

    Args:
        train_ids, val_ids, test_ids: (N,) token ids of each split (tensors, or NumPy arrays such as
            slices of a token file's memmap).
        block_size: T, tokens per window.
        batch_size: B.
        seed: fixes the windows of every epoch.
        stateful: read every split as B parallel streams (:class:`Streams`) and carry the recurrent
            state from batch to batch (truncated backprop through time); the model's forward must
            take and return a state, ``model(ids, state) -> (logits, state)``.
        world_size: processes training together (each reads its own B streams of the training split).
        reset_every: with ``stateful``, the training state also starts from zeros every this many
            steps (the checkpoint interval: a run resumed from a checkpoint then needs no state).

    >>> task = LanguageModelTask(torch.arange(1, 200), torch.arange(1, 50), torch.arange(1, 50),
    ...                          block_size=8, batch_size=4, seed=0)
    >>> batch = task.train_batches(0)[0]
    >>> batch.ids.shape, bool((batch.targets[:, :-1] == batch.ids[:, 1:]).all())
    (torch.Size([4, 8]), True)
    >>> streams = LanguageModelTask(torch.arange(1, 200), torch.arange(1, 50), torch.arange(1, 50),
    ...                             block_size=8, batch_size=4, seed=0, stateful=True).train_batches(0)
    >>> first, second = streams[0], streams[1]
    >>> bool((second.ids[:, 0] == first.targets[:, -1]).all()), first.fresh, second.fresh
    (True, True, False)
    """

    def __init__(
        self,
        train_ids: Tensor | np.ndarray[Any, Any],
        val_ids: Tensor | np.ndarray[Any, Any],
        test_ids: Tensor | np.ndarray[Any, Any],
        *,
        block_size: int,
        batch_size: int,
        seed: int,
        stateful: bool = False,
        world_size: int = 1,
        reset_every: int = 0,
        label_smoothing: float = 0.0,
    ) -> None:
        self.label_smoothing = label_smoothing
        for split, ids in (("training", train_ids), ("validation", val_ids)):
            if len(ids) < block_size + 2:
                raise DataError(
                    f"the {split} split has {len(ids)} tokens, fewer than data.block_size + 2 = {block_size + 2}; "
                    "use a larger text, a smaller data.block_size or a larger split fraction"
                )
        windows = len(train_ids) - block_size
        if batch_size > windows:  # a batch would repeat the same windows: the data is smaller than one batch
            raise DataError(
                f"train.batch_size = {batch_size} is more than the {windows} windows of data.block_size = "
                f"{block_size} tokens in the training split; use 1 to {windows}, or more data"
            )
        streams = batch_size * world_size
        if stateful and len(train_ids) - 1 < streams * block_size:
            raise DataError(
                f"data.stateful reads the training split as {streams} streams (train.batch_size = {batch_size} x "
                f"{world_size} process(es)) of at least data.block_size = {block_size} tokens, but it has only "
                f"{len(train_ids)} tokens; use a smaller batch or block, or more data"
            )
        self.splits = {"train": train_ids, "val": val_ids, "test": test_ids}
        self.block_size, self.batch_size, self.seed = block_size, batch_size, seed
        self.stateful, self.world_size, self.reset_every = stateful, world_size, reset_every
        self._carried: list[Tensor] | None = None  # the training streams' state after the last batch (detached)

    def train_batches(self, epoch: int) -> LMBatches | Streams:
        ids = self.splits["train"]
        if self.stateful:  # the window borders move by a random shift each epoch, fixed by (seed, epoch)
            spare = len(ids) - 1 - self.batch_size * self.world_size * self.block_size
            generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            offset = int(torch.randint(0, min(spare, self.block_size - 1) + 1, (), generator=generator))
            streams = Streams(
                ids,
                self.block_size,
                self.batch_size,
                groups=self.world_size,
                offset=offset,
                reset_every=self.reset_every,
            )
            return replace(streams, first_step=epoch * streams.positions)  # steps are counted over the epochs
        num_batches = max(1, len(ids) // (self.block_size * self.batch_size))
        seed = self.seed * 100_003 + epoch
        starts = DrawnStarts(len(ids) - self.block_size, num_batches=num_batches, batch_size=self.batch_size, seed=seed)
        return LMBatches(ids, starts, self.block_size)

    def split_batches(self, split: str, *, limit: int = 0) -> LMBatches | Streams:
        """Consecutive non-overlapping windows of a split, in order (all of it, or ``limit`` batches).

        Stateful, the split is read as B streams (fewer if it is short), a batch per window of each.
        """
        ids = self.splits[split]
        if len(ids) <= self.block_size:  # an empty split (e.g. test_fraction = 0): no windows
            return LMBatches(ids, torch.zeros(0, self.batch_size, dtype=torch.long), self.block_size)
        if self.stateful:
            streams = min(self.batch_size, (len(ids) - 1) // self.block_size)
            return Streams(ids, self.block_size, streams, limit=limit)
        starts = torch.arange(0, len(ids) - self.block_size, self.block_size)
        usable = (len(starts) // self.batch_size) * self.batch_size or len(starts)
        starts = starts[:usable].view(-1, min(self.batch_size, usable))
        if limit:
            starts = starts[:limit]
        return LMBatches(ids, starts, self.block_size)

    def val_batches(self) -> LMBatches | Streams:
        """The whole validation split. Stateful, a window the estimate reads without the one before it in its
        stream starts from a zero state, so the periodic estimate reads higher than the final evaluation."""
        return self.split_batches("val")

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        """Mean cross-entropy of the next token; a :class:`StreamBatch` continues the previous batch's state."""
        if not isinstance(batch, StreamBatch):
            logits, _ = model(batch.ids)  # (B, T, V)
        else:
            assert batch.fresh or self._carried is not None, "a stream batch continues a state never computed"
            logits, state = model(batch.ids, None if batch.fresh else self._carried)
            self._carried = [part.detach().float() for part in state]  # backprop stops at the window's start
        loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(), label_smoothing=self.label_smoothing)
        return loss, {}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Sequence[Batch]) -> dict[str, float]:
        """Loss per token over ``batches``; a :class:`StreamBatch` that continues the batch before it starts
        from that batch's final state (any other starts afresh)."""
        total, count = 0.0, 0
        state: Any = None
        last = -1  # position of the stream batch just read
        for batch in batches:
            if isinstance(batch, StreamBatch):
                carry = not batch.fresh and batch.position == last + 1
                logits, state = model(batch.ids, state if carry else None)
                last = batch.position
            else:
                logits, _ = model(batch.ids)
            total += float(F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten(), reduction="sum"))
            count += batch.targets.numel()
        loss = total / max(count, 1)
        return {"loss": loss, "bits_per_token": loss / math.log(2), "perplexity": math.exp(min(loss, 50.0))}

    def count_tokens(self, batch: Batch) -> int:
        return batch.ids.numel()


# ----------------------------------------------------------------------------- the task


class LanguageModeling(Task):
    """Next-token prediction over any tokenizer: a recurrent LM or a decoder-only Transformer.

    >>> from seqlab.config import load_config
    >>> LanguageModeling().describe(load_config("shakespeare-char"))
    'LSTM 1x384'
    """

    name = "language-model"
    data_config = TextDataConfig
    model_configs = {"rnn": RecurrentConfig, "transformer": TransformerConfig}
    meta_keys = ("vocab_size",)

    def prepare(self, config: Config, *, preprocessing: Preprocessing | None = None) -> Prepared:
        """Read the corpus, fit the tokenizer on the training part (unless given), and build the task.

        A dataset of pairs (dialogue turns) is rendered into one corpus through the chat template
        (:mod:`seqlab.text.chat`), pairs shuffled with ``train.seed`` so every split holds every
        language and topic; the template is saved in meta.json so chat uses the same one. Several
        datasets can be joined with ``+`` (``"chatterbot+shakespeare-dialogue"``), each read on its own.

        The tokenizer is fitted on the first ``1 - val_fraction - test_fraction`` of the characters
        (a char tokenizer on all of them, read in pieces; the others on at most the first
        :data:`FIT_SAMPLE_CHARS` of them); the whole corpus then goes through it once into the token
        file, and the splits are cut at the same fractions of the token positions (for a character
        tokenizer, the same places). A corpus that is one text file is streamed, never held whole.
        """
        from seqlab.distributed import DistributedContext

        data = config.data
        if data.stateful and not isinstance(config.model, RecurrentConfig):
            raise ConfigError(
                'data.stateful carries a recurrent state from batch to batch; model.arch must be "rnn" '
                f'(got "{config.model.arch}"), or set data.stateful = false'
            )
        corpus, chars, chat = _corpus(config)
        ranks = DistributedContext.from_env()

        def fit() -> TextTokenizer:
            if preprocessing is not None:
                assert isinstance(preprocessing, TextTokenizer), "a language model's preprocessing is a text tokenizer"
                return preprocessing
            n_train, _, _ = _split_sizes(chars, data.val_fraction, data.test_fraction)
            sample = _fit_sample(corpus, n_train, data.tokenizer)
            return build_tokenizer(data.tokenizer, sample, vocab_size=data.vocab_size, lowercase=data.lowercase)

        tokenizer = _shared(ranks, fit)
        ids = _token_ids(corpus, tokenizer, ranks)
        n_train, n_val, _ = _split_sizes(len(ids), data.val_fraction, data.test_fraction)
        task = LanguageModelTask(
            ids[:n_train],
            ids[n_train : n_train + n_val],
            ids[n_train + n_val :],
            block_size=data.block_size,
            batch_size=config.train.batch_size,
            seed=config.train.seed,
            stateful=data.stateful,
            world_size=ranks.world_size,
            reset_every=config.train.checkpoint_every,
            label_smoothing=config.train.label_smoothing,
        )
        meta: dict[str, Any] = {
            "task": self.name,
            "vocab_size": tokenizer.vocab_size,
            "tokens": {k: len(v) for k, v in task.splits.items()},
        }
        if chat is not None:
            meta["chat_template"] = json.loads(chat.to_json())
        return Prepared(tokenizer, task, meta)

    def build_model(self, config: Config, meta: dict[str, Any], *, preprocessing: Any = None) -> nn.Module:
        """The model a config describes (by ``model.arch``: rnn or transformer), with fresh weights."""
        m = config.model
        vocab_size = int(meta["vocab_size"])
        if isinstance(m, TransformerConfig):
            from seqlab.models.transformer import TransformerLM

            return TransformerLM(
                vocab_size,
                embed_dim=m.embed_dim,
                num_heads=m.num_heads,
                num_layers=m.num_layers,
                ff_dim=m.ff_dim,
                dropout=m.dropout,
                block_size=config.data.block_size,
                positions=m.positions,
                tie_weights=m.tie_weights,
            )
        assert isinstance(m, RecurrentConfig)
        return RecurrentLM(
            vocab_size,
            cell=m.cell,
            embed_dim=m.embed_dim,
            hidden_size=m.hidden_size,
            num_layers=m.num_layers,
            dropout=m.dropout,
            recurrent_dropout=m.recurrent_dropout,
            impl=m.impl,
            tie_weights=m.tie_weights,
        )

    def summary_inputs(self, config: Config) -> tuple[Any, dict[str, Any], str]:
        """Stand-in sizes (the vocabulary comes from the data), or MiniLM's true vocabulary."""
        return text_stand_in(config)

    def example_input(self, config: Config, model: nn.Module, meta: dict[str, Any]) -> list[SummaryPart]:
        return [SummaryPart("", model, torch.ones(2, min(config.data.block_size, 64), dtype=torch.long))]

    def describe(self, config: Config) -> str:
        return describe_sequence_model(config.model)

    def sample(self, run: Run, prompt: str, params: SamplingParams) -> Iterator[str]:
        """Stream the continuation of ``prompt`` as text pieces: the one generation path the server uses too."""
        from seqlab.generation import continue_text

        return continue_text(run.model, prompt, run.tokenizer, params)

    def inspect(
        self,
        run: Run,
        text: str,
        *,
        out_dir: Path | None = None,
        layer: str | None = None,
        beam_width: int | None = None,
    ) -> Inspection:
        """Gates and hidden-state norms per step of each recurrent layer, and the next token expected."""
        from seqlab.inspection import inspect_text

        return inspect_text(run, text, out_dir=out_dir, layer=layer)

    def report(self, run: Run, data: SplitData, *, console: Console) -> list[str]:
        """Generate the config's samples, print them as they stream, and return them as Markdown."""
        s = run.config.sample
        lines = ["## Samples", ""]
        for i in range(s.num_samples):
            console.print(f"[bold]sample {i + 1}[/] (temperature {s.temperature}, prompt {s.prompt!r}):")
            console.print(s.prompt, end="", markup=False, highlight=False)
            pieces = []
            for piece in run.sample(
                s.prompt,
                max_tokens=s.max_tokens,
                temperature=s.temperature,
                top_k=s.top_k,
                top_p=s.top_p,
                seed=run.config.train.seed + i,
            ):
                console.print(piece, end="", markup=False, highlight=False)
                pieces.append(piece)
            console.print()
            lines += [
                f"Sample {i + 1} (temperature {s.temperature}, top-k {s.top_k}, top-p {s.top_p}):",
                "",
                "```text",
                s.prompt + "".join(pieces),
                "```",
                "",
            ]
        return lines

    def export_graphs(self, run: Run) -> list[ExportGraph]:
        """A recurrent LM as one step, ``(ids (B, T), h [, c]) -> (logits (B, V), h [, c])``; a Transformer
        LM as the logits (B, T, V) of a window of T <= block_size ids, read whole each call (no KV cache)."""
        from seqlab.export import ExportGraph, FirstOutput, RecurrentStep

        model, vocab = run.model, int(run.meta["vocab_size"])
        ids = torch.arange(1, 11).view(2, 5) % vocab  # (B, T) = (2, 5); checked again at (1, 3)
        if not isinstance(model, RecurrentLM):
            axes = {"ids": {0: "batch", 1: "length"}, "logits": {0: "batch", 1: "length"}}
            note = f"logits (B, T, V) of a window of T <= {run.config.data.block_size} ids; no KV cache"
            window = FirstOutput(model)
            return [ExportGraph("window", window, (ids,), ("ids",), ("logits",), axes, ((ids[:1, :3],),), note)]
        layers, hidden = model.rnn.num_layers, model.rnn.units
        parts = ("h", "c") if model.rnn.cell == "lstm" else ("h",)
        zeros = tuple(torch.zeros(layers, 2, hidden) for _ in parts)  # a fresh state (L, B, H)
        carried = tuple(torch.linspace(-0.5, 0.5, layers * hidden).view(layers, 1, hidden) for _ in parts)
        outs = tuple(f"{p}_out" for p in parts)
        axes = {"ids": {0: "batch", 1: "length"}, "logits": {0: "batch"}, **{n: {1: "batch"} for n in parts + outs}}
        note = "reads T new ids after the state; feed the prompt with zero states, then one id at a time"
        names, check = (("ids", *parts), ("logits", *outs)), (ids[:1, :3], *carried)
        return [ExportGraph("step", RecurrentStep(model), (ids, *zeros), *names, axes, (check,), note)]


# ----------------------------------------------------------------------------- helpers


def text_stand_in(config: Config) -> tuple[Any, dict[str, Any], str]:
    """(tokenizer, meta, note) for a text task's model without data: stand-in vocabulary and 2 classes.

    A pretrained vocabulary (minilm) has its true size and needs no data.
    """
    meta: dict[str, Any] = {"classes": ["class 0", "class 1"]}
    if config.data.tokenizer == "minilm":
        tokenizer = build_tokenizer("minilm", [])
        return tokenizer, {**meta, "vocab_size": tokenizer.vocab_size}, "2 classes stand in for what the data gives"
    vocab = config.data.vocab_size or 100
    return (
        None,
        {**meta, "vocab_size": vocab},
        f"vocabulary size {vocab} and 2 classes stand in for what the data gives",
    )


def describe_sequence_model(m: RecurrentConfig | RecurrentSeq2SeqConfig | TransformerConfig | Section) -> str:
    """A short line for a recurrent or Transformer ``[model]`` section, as ``seqlab recipes`` shows it.

    >>> from seqlab.sections import RecurrentSeq2SeqConfig, TransformerConfig
    >>> describe_sequence_model(RecurrentSeq2SeqConfig(bidirectional=True, cell="lstm"))
    'biLSTM 1x128 + bahdanau'
    >>> describe_sequence_model(TransformerConfig())
    'Transformer 2x128, 4 heads'
    """
    if isinstance(m, TransformerConfig):
        return f"Transformer {m.num_layers}x{m.embed_dim}, {m.num_heads} heads"
    assert isinstance(m, (RecurrentConfig, RecurrentSeq2SeqConfig)), f"not a sequence model section: {type(m).__name__}"
    text = f"{'bi' if m.bidirectional else ''}{m.cell.upper()} {m.num_layers}x{m.hidden_size}"
    if isinstance(m, RecurrentConfig) and m.conv_filters:
        text = f"Conv1D {m.conv_filters} + " + text
    if isinstance(m, RecurrentSeq2SeqConfig) and m.attention != "none":
        text += f" + {m.attention}"
    return text


def _split_sizes(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """(train, val, test) lengths of ``n`` positions, cut where :func:`~seqlab.data.split_corpus` cuts a text.

    >>> _split_sizes(1000, 0.05, 0.05)
    (900, 50, 50)
    """
    train, val, test = split_corpus(range(n), val_fraction, test_fraction)  # type: ignore[arg-type]  # any sequence
    return len(train), len(val), len(test)


def _shared(ranks: DistributedContext, fit: Callable[[], TextTokenizer]) -> TextTokenizer:
    """Rank 0's tokenizer (fitted, or the one it was given) on every rank; ``fit()`` itself outside a process group."""
    import torch.distributed as dist

    from seqlab.text import load_tokenizer

    if not (ranks.is_distributed and dist.is_available() and dist.is_initialized()):
        return fit()
    fitted = fit() if ranks.is_main else None
    saved = ranks.gather(fitted.to_json() if fitted is not None else "")[0]
    return fitted if fitted is not None else load_tokenizer(saved)


def _token_ids(corpus: str | Path, tokenizer: TextTokenizer, ranks: DistributedContext) -> np.ndarray[Any, Any]:
    """The corpus's ids, memory-mapped from the token cache; rank 0 builds the file while the others wait."""
    from seqlab.data.tokens import token_file

    if not ranks.is_main:
        ranks.barrier()
    ids = token_file(corpus, tokenizer).ids
    if ranks.is_main:
        ranks.barrier()
    return ids


FIT_SAMPLE_CHARS = 32_000_000
"""Most characters a word, BPE or Korean tokenizer is fitted on: the start of the training share.

32 M characters (32 MB of English) is six times the largest catalog corpus (shakespeare, 5 M), so
every recipe fits on its whole training share as before, and far more text than a vocabulary of a
few thousand entries needs; it bounds the fit's memory (the sample as one string, and the fitter's
counts) whatever the corpus. A char tokenizer needs no cap: it counts characters piece by piece.
"""


def _corpus(config: Config) -> tuple[str | Path, int, ChatTemplate | None]:
    """The corpus to tokenize (a text file's path, to stream, or the text), its length in characters, the chat template.

    One dataset that is a text file, without ``data.limit``, stays on disk: one streaming pass
    counts its characters (and finds a bad byte or an empty file). Anything else (a join, pairs
    rendered through the chat template, a limit) is text in memory, as :func:`_corpus_text` reads it.
    """
    data = config.data
    joined = joined_datasets(data.dataset, limit=data.limit, limits=data.limits)
    path = corpus_file(joined[0][0]) if len(joined) == 1 and not joined[0][1] else None
    if path is None:
        text, chat = _corpus_text(config)
        return text, len(text), chat
    chars, blank = 0, True
    for piece in _pieces(path):
        chars += len(piece)
        blank = blank and (not piece or piece.isspace())
    if blank:
        raise DataError(f"the dataset is empty: {path} holds no text")
    return path, chars, None


def _pieces(path: Path) -> Iterator[str]:
    """The text of a UTF-8 file in pieces of 256 K characters, read as :func:`seqlab.data.read_text` reads it."""
    from seqlab.data.tokens import TextSource

    try:
        for piece, _ in TextSource(path=path).pieces():
            yield piece
    except DataError:
        read_text(path)  # its message names the line and column of a bad byte
        raise


def _head(path: Path, chars: int | None) -> Iterator[str]:
    """The first ``chars`` characters of a text file, in pieces (all of it if ``chars`` is None)."""
    seen = 0
    for piece in _pieces(path):
        if chars is not None and seen + len(piece) >= chars:
            yield piece[: chars - seen]
            return
        seen += len(piece)
        yield piece


def _fit_sample(corpus: str | Path, n_train: int, tokenizer: str) -> Iterable[str]:
    """The text a tokenizer is fitted on: the training share, all of it in pieces for char, else its first
    :data:`FIT_SAMPLE_CHARS` characters (the same sample whether the corpus is a file or a string)."""
    chars = n_train if tokenizer == "char" else min(n_train, FIT_SAMPLE_CHARS)
    if isinstance(corpus, str):
        return [corpus[:chars]]
    if tokenizer == "char":
        return _head(corpus, chars)
    return ["".join(_head(corpus, chars))]


def _corpus_text(config: Config) -> tuple[str, ChatTemplate | None]:
    """The training text of a config's dataset(s), and the chat template if pairs were rendered.

    A dataset that is a text file is read up to its limit only (``data.limit`` characters).
    """
    import random

    data = config.data
    texts, sources, targets = [], [], []
    for name, limit in joined_datasets(data.dataset, limit=data.limit, limits=data.limits):
        path = corpus_file(name)
        if path is not None:
            text = "".join(_head(path, limit or None))
            if not text.strip():
                raise DataError(f"the dataset is empty: {path} holds no text")
            texts.append(text)
            continue
        dataset = load_dataset(name, limit=limit)
        if isinstance(dataset, Corpus):
            texts.append(dataset.text)
        elif isinstance(dataset, Pairs):
            sources += dataset.sources
            targets += dataset.targets
        else:
            raise DataError(
                f'task "language-model" needs a text corpus or pairs, but dataset "{name}" holds '
                f"{type(dataset).__name__}; pick a corpus or pairs (seqlab data list) or a .txt / .jsonl file"
            )
    if texts and sources:
        raise DataError(f'data.dataset "{data.dataset}" mixes corpora and pairs; join only corpora or only pairs')
    if texts:
        return "\n".join(texts), None
    order = list(range(len(sources)))
    random.Random(config.train.seed).shuffle(order)
    template = DEFAULT_TEMPLATE
    return template.render_pairs([sources[i] for i in order], [targets[i] for i in order]), template


__all__ = [
    "LanguageModeling",
    "LanguageModelTask",
    "LMBatches",
    "DrawnStarts",
    "StreamBatch",
    "Streams",
    "text_stand_in",
    "describe_sequence_model",
]
