"""The Korean course notebooks: stored without outputs, up to date with their source, and they run.

The execution test is marked ``notebooks`` (minutes, real data); run it with::

    .venv/bin/python -m pytest -m notebooks tests/notebooks -q -p no:cacheprovider

Each notebook runs in a real Jupyter kernel started from this interpreter (a kernelspec written
to a temporary folder, so no other installed ``python3`` kernel is picked up), in a temporary
working folder, with a time limit per cell; a failing cell fails the test with that cell's error.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebooks extra: pip install -e .[notebooks]")

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT_S = 300  # one cell; a whole notebook aims at about a minute on 2 cores
GLYPH_MISSING = "missing from font"  # matplotlib: "Glyph 54620 (\N{HANGUL SYLLABLE HAN}) missing from font(s) ..."
KERNEL_NAME = "seqlab-test-python3"


@functools.cache
def _generator():
    """notebooks/make_notebooks.py, imported from its file (notebooks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_notebooks", FOLDER / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_notebooks"] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def test_twelve_chapters_one_notebook_each():
    assert [path.name[:2] for path in NOTEBOOKS] == [f"{n:02d}" for n in range(1, 13)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell.outputs == [], f"{path.name}: a code cell has stored outputs"
        assert cell.execution_count is None, f"{path.name}: a code cell has an execution count"
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_written_by_the_generator(path: Path):
    generator = _generator()
    (notebook,) = [n for n in generator.NOTEBOOKS if n.stem == path.stem]
    assert path.read_text(encoding="utf-8") == generator.render(notebook), (
        f"{path.name} differs from notebooks/make_notebooks.py; run: python notebooks/make_notebooks.py"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_korean_text_in_every_notebook(path: Path):
    nb = nbformat.read(path, as_version=4)
    markdown = "".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in markdown)
    assert hangul > 200, f"{path.name}: its markdown should be written in Korean"


def _code(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_go_to_a_temporary_folder_with_seeds_and_one_thread(path: Path):
    sources = _code(path)
    assert 'WORK = Path(tempfile.mkdtemp(prefix="seqlab-' in sources
    assert "torch.manual_seed(0)" in sources and "torch.set_num_threads(1)" in sources
    # every training call names its folder under WORK (seqlab.train's default is runs/ in the working folder)
    assert sources.count("seqlab.train(") == sources.count("run_dir=WORK /")
    assert "compare(" not in sources or "out_dir=WORK /" in sources


# ----------------------------------------------------------------------------- execution


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernelspec that starts this very interpreter (the venv's python), nothing found on the path."""
    folder = tmp_path_factory.mktemp("kernels")
    spec = folder / KERNEL_NAME
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "seqlab test", "language": "python"}), encoding="utf-8"
    )
    return folder


def _cell_error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return None


def _texts(nb) -> list[str]:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            data = output.get("data", {})
            texts.append(data.get("text/plain", ""))
            texts += output.get("traceback", [])
    return texts


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, kernel_dir: Path, tmp_path: Path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    # not stored: the kernel says which interpreter it is
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys; print('KERNEL-PYTHON', sys.executable)"))
    # TMPDIR: the notebook's tempfile.mkdtemp() run folders land in this test's own temporary folder
    env = {**os.environ, "MPLBACKEND": "Agg", "NO_COLOR": "1", "TMPDIR": str(tmp_path)}
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
    client = NotebookClient(
        nb,
        km=manager,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working folder
    )
    started = time.perf_counter()
    try:
        client.execute(env=env, cwd=str(tmp_path))
    except CellExecutionError as err:
        failed = next((cell for cell in nb.cells if _cell_error(cell)), None)
        source = failed.source if failed is not None else "?"
        pytest.fail(f"{path.name}: a cell failed:\n{source}\n\n{err}", pytrace=False)
    finally:
        if manager.has_kernel:
            manager.shutdown_kernel()  # a polite shutdown: the kernel's atexit handlers run
        if os.environ.get("SEQLAB_EXECUTED_NOTEBOOKS"):  # keep the executed copy to read its outputs
            out = Path(os.environ["SEQLAB_EXECUTED_NOTEBOOKS"])
            out.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out / path.name)
    elapsed = time.perf_counter() - started
    print(f"\n{path.name}: {elapsed:.1f} s")

    first = "".join(_texts(nbformat.from_dict({"cells": [nb.cells[0]]})))
    assert f"KERNEL-PYTHON {sys.executable}" in first, f"the kernel is not this interpreter: {first!r}"
    joined = "\n".join(_texts(nb))
    assert GLYPH_MISSING not in joined, f"{path.name}: a plot is missing Hangul glyphs"
    assert not any(_cell_error(cell) for cell in nb.cells)
    assert not list(tmp_path.glob("runs")), "a notebook wrote runs/ into its working folder"
    assert list(tmp_path.glob("seqlab-*")), "the notebook's run folder is made with tempfile.mkdtemp"


def test_the_setup_cell_turns_a_missing_hangul_glyph_into_an_error():
    import io
    import warnings

    from matplotlib.figure import Figure

    from seqlab.viz.fonts import apply_font

    (_, setup) = _generator().setup("00")
    guards = [line for line in setup.splitlines() if line.startswith("warnings.filterwarnings(")]
    assert guards
    with warnings.catch_warnings():
        for line in guards:
            exec(line, {"warnings": warnings})
        plain = Figure()
        plain.add_subplot().set_title("한글")
        with pytest.raises(UserWarning, match="Glyph"):
            plain.savefig(io.BytesIO(), format="png")  # DejaVu Sans alone has no Hangul
        fixed = Figure()
        fixed.add_subplot().set_title("한글")
        apply_font(fixed).savefig(io.BytesIO(), format="png")  # the notebooks' way: no warning, no error
