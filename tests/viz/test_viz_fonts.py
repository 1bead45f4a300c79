"""seqlab.viz.fonts: finding a Hangul font once, and warning once when there is none."""

from __future__ import annotations

import warnings

import pytest

from seqlab.viz import fonts


def test_hangul_font_is_cached_and_registered():
    name = fonts.hangul_font()
    assert fonts.hangul_font() is name  # the search runs once
    if name is None:
        pytest.skip("no font with Hangul glyphs installed")
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
    assert fonts._has_hangul(path)
    assert fonts.font_family() == ["DejaVu Sans", name]


def test_no_font_found_warns_once_with_install_hint(monkeypatch):
    monkeypatch.setattr(fonts, "_candidate_files", lambda: [])
    monkeypatch.setattr(fonts, "_known_system_fonts", lambda: [])
    fonts.hangul_font.cache_clear()
    try:
        with pytest.warns(UserWarning, match="pip install koreanize-matplotlib"):
            assert fonts.hangul_font() is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert fonts.hangul_font() is None  # cached: no second warning
    finally:
        fonts.hangul_font.cache_clear()


def test_a_file_without_hangul_is_not_chosen(monkeypatch):
    from matplotlib import font_manager

    dejavu = font_manager.findfont("DejaVu Sans")
    assert not fonts._has_hangul(dejavu)
    monkeypatch.setattr(fonts, "_candidate_files", lambda: [dejavu])
    monkeypatch.setattr(fonts, "_known_system_fonts", lambda: [])
    fonts.hangul_font.cache_clear()
    try:
        with pytest.warns(UserWarning, match="no font with Hangul"):
            assert fonts.hangul_font() is None
    finally:
        fonts.hangul_font.cache_clear()


def test_hangul_and_log_axis_minus_signs_render_without_missing_glyphs(caplog, tmp_path):
    if fonts.hangul_font() is None:
        pytest.skip("no font with Hangul glyphs installed")
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot(title="학습률 learning rate")
    ax.plot([1e-4, 1e-3, 1e-2], [-1.0, 0.5, 2.0])
    ax.set_xscale("log")  # ticks are mathtext 10^{-4}: the minus is U+2212
    fonts.apply_font(fig)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        fig.savefig(tmp_path / "plot.png")
    assert not [r for r in caplog.records if "does not have a glyph" in r.getMessage()]
