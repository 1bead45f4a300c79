"""Find a font with Hangul glyphs and make every seqlab plot use it, without touching rcParams.

Matplotlib's default DejaVu Sans has no Hangul, so Korean tokens would render as empty boxes
with a "Glyph ... missing from font(s)" warning. :func:`hangul_font` looks, in order, for

1. the NanumGothic file bundled in the ``koreanize-matplotlib`` wheel (found on disk; the package
   is never imported, because importing it rewrites the global rcParams),
2. Debian's ``fonts-nanum`` (``/usr/share/fonts/truetype/nanum``),
3. any font matplotlib already knows whose name suggests CJK and that really has Hangul glyphs,

adds it to matplotlib's font manager once and returns its family name. :func:`apply_font` then
sets ``["DejaVu Sans", that font]`` on every text of one figure: Latin text, digits and the
U+2212 minus sign come from DejaVu Sans, and Hangul falls back glyph by glyph to the Hangul font
(matplotlib >= 3.6). DejaVu Sans goes first because mathtext (the ``10^{-2}`` labels of a log
axis) uses only the first font, and NanumGothic has no U+2212.
"""

from __future__ import annotations

import functools
import importlib.util
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FALLBACK_FAMILY = "DejaVu Sans"

_NANUM_FILES = ("NanumGothic.ttf", "NanumBarunGothic.ttf", "NanumSquareR.ttf")
_DEBIAN_NANUM_DIRS = (
    Path("/usr/share/fonts/truetype/nanum"),
    Path("/usr/share/fonts/opentype/nanum"),
)
# Names of fonts that commonly carry Hangul; only these are opened and checked for glyphs.
_CJK_NAME_HINTS = (
    "nanum",
    "noto sans cjk",
    "noto serif cjk",
    "noto sans kr",
    "noto serif kr",
    "source han",
    "malgun",
    "apple sd gothic",
    "applegothic",
    "gulim",
    "dotum",
    "batang",
    "un dotum",
    "unbatang",
    "baekmuk",
    "droid sans fallback",
    "wenquanyi",
    "ms gothic",
)
_MISSING_FONT_HINT = (
    "no font with Hangul glyphs was found, so Korean text in plots will show as boxes; "
    "install one with: pip install koreanize-matplotlib  (or: apt-get install fonts-nanum)"
)


def _has_hangul(path: str) -> bool:
    """Whether the font file at ``path`` has a glyph for 한 (U+D55C)."""
    from matplotlib.ft2font import FT2Font

    try:
        return FT2Font(path).get_char_index(ord("한")) != 0
    except (OSError, RuntimeError, ValueError):
        return False


def _candidate_files() -> list[str]:
    """Font files to try, best first (bundled wheel, then Debian's fonts-nanum)."""
    candidates: list[Path] = []
    # find_spec locates a top-level package without running its __init__ (no rcParams change).
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates += [Path(location) / "fonts" / name for name in _NANUM_FILES]
    for folder in _DEBIAN_NANUM_DIRS:
        candidates += [folder / name for name in _NANUM_FILES]
    return [str(path) for path in candidates if path.is_file()]


def _known_system_fonts() -> list[str]:
    """Font files matplotlib already indexed whose family name hints at CJK coverage."""
    from matplotlib import font_manager

    found = []
    for entry in font_manager.fontManager.ttflist:
        if any(hint in entry.name.lower() for hint in _CJK_NAME_HINTS):
            found.append(entry.fname)
    return found


@functools.cache
def hangul_font() -> str | None:
    """Return the family name of a font with Hangul glyphs, registered with matplotlib, or None.

    The search runs once per process (cached). When nothing is found, one warning says what to
    install, and plots still work with DejaVu Sans (Hangul then shows as boxes).

    >>> name = hangul_font()
    >>> name is None or isinstance(name, str)
    True
    """
    from matplotlib import font_manager

    for path in _candidate_files() + _known_system_fonts():
        if not _has_hangul(path):
            continue
        font_manager.fontManager.addfont(path)
        return font_manager.FontProperties(fname=path).get_name()
    warnings.warn(_MISSING_FONT_HINT, UserWarning, stacklevel=2)
    return None


def font_family() -> list[str]:
    """Return the font family list every seqlab plot uses: DejaVu Sans, then the Hangul font (if any).

    >>> font_family()[0]
    'DejaVu Sans'
    """
    name = hangul_font()
    return [FALLBACK_FAMILY, name] if name and name != FALLBACK_FAMILY else [FALLBACK_FAMILY]


def apply_font(fig: Figure) -> Figure:
    """Set the seqlab font family on every text of ``fig``, including tick labels drawn later.

    Only this figure changes; matplotlib's global rcParams are left alone.

    Args:
        fig: a finished figure.

    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> ax = fig.add_subplot(title="손실")
    >>> apply_font(fig) is fig
    True
    """
    from matplotlib.text import Text

    family = font_family()
    for text in fig.findobj(Text):
        text.set_fontfamily(family)
    for ax in fig.axes:
        # Tick labels are created again at draw time; tick_params makes new ones inherit the family.
        ax.tick_params(axis="both", which="both", labelfontfamily=family)
    return fig
