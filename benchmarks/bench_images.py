"""Image benchmarks: run the image recipes at their real budgets, one after another, and print a Markdown table.

    python benchmarks/bench_images.py [--out benchmarks/images] [--set train.threads=1] [RECIPE ...]

Figures: MLP test accuracy (fashion-mlp, mnist5k-mlp), VAE test ELBO per image (fashion-vae),
anomaly ROC-AUC of the held-out class (fashion-anomaly), the GANs' judge figures (fashion-dcgan,
fashion-cgan, fashion-stylegan, the last also at truncation psi 0.7) and the CycleGAN's (share of
translations the judge assigns to the target class, fashion-cyclegan). The small PNGs worth keeping
are copied into ``--out``.
Not a test: run by hand on a quiet machine and record the output in benchmarks/images.md.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import time
from io import StringIO
from pathlib import Path

from rich.console import Console

RECIPES = (
    "fashion-mlp",
    "mnist5k-mlp",
    "fashion-vae",
    "fashion-anomaly",
    "fashion-dcgan",
    "fashion-cgan",
    "fashion-stylegan",
    "fashion-cyclegan",
)
KEEP = {
    "fashion-mlp": ("curves.png", "confusion.png", "misclassified.png"),
    "mnist5k-mlp": ("curves.png",),
    "fashion-vae": ("samples.png", "interpolation.png", "latent_map.png", "compression.png"),
    "fashion-anomaly": ("anomaly.png",),
    "fashion-dcgan": ("samples.png", "curves.png"),
    "fashion-cgan": ("samples.png",),
    "fashion-stylegan": ("samples.png", "samples-truncated.png", "mixing.png", "curves.png"),
    "fashion-cyclegan": ("samples.png", "curves.png"),
}


def main() -> None:
    from seqlab.config import load_config
    from seqlab.run import train, write_summary  # noqa: F401

    parser = argparse.ArgumentParser()
    parser.add_argument("recipes", nargs="*", default=list(RECIPES))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/images"))
    parser.add_argument("--runs", type=Path, default=Path("runs/bench-images"))
    parser.add_argument("--set", action="append", default=[], help="override for every recipe, e.g. train.threads=1")
    args = parser.parse_args()
    print(f"Overrides: {' '.join(args.set) or 'none'}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.recipes:
        run_dir = args.runs / name
        shutil.rmtree(run_dir, ignore_errors=True)
        load = Path("/proc/loadavg").read_text().split()[0]
        started = time.perf_counter()
        log = StringIO()
        run = train(load_config(name, overrides=args.set), run_dir=run_dir, console=Console(file=log, width=160))
        seconds = time.perf_counter() - started
        summary = (run_dir / "summary.md").read_text()
        test = next((json_row for json_row in [_final(summary, "test")] if json_row), {})
        figure = _figure(name, test, summary)
        steps = max((row["step"] for row in run.metrics()), default=0)
        rows.append((name, figure, steps, f"{seconds:.0f}", load))
        for png in KEEP.get(name, ()):
            if (run_dir / png).is_file():
                shutil.copy(run_dir / png, args.out / f"{name}-{png}")
        print(f"| {' | '.join(str(v) for v in rows[-1])} |", flush=True)
    print("\n| recipe | figure | steps | seconds (wall, incl. data and report) | load at start |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(str(v) for v in row)} |")
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    print(f"\nnproc {nproc}; {time.strftime('%Y-%m-%d')}")


def _final(summary: str, split: str) -> dict[str, float]:
    lines = summary.splitlines()
    header = next((line for line in lines if line.startswith("| split |")), None)
    row = next((line for line in lines if line.startswith(f"| {split} |")), None)
    if header is None or row is None:
        return {}
    names = [c.strip() for c in header.strip("|").split("|")][1:]
    values = [c.strip() for c in row.strip("|").split("|")][1:]
    return {n: float(v) for n, v in zip(names, values)}


def _figure(name: str, test: dict[str, float], summary: str) -> str:
    if name.endswith("mlp"):
        return f"test accuracy {test.get('accuracy', float('nan')):.4f}"
    if name == "fashion-vae":
        return (
            f"test ELBO {test.get('elbo', float('nan')):.1f} nats/image "
            f"(recon {test.get('recon', float('nan')):.1f}, KL {test.get('kl', float('nan')):.1f})"
        )
    if name == "fashion-anomaly":
        found = re.search(r"ROC-AUC: \*\*([0-9.]+)\*\*", summary)
        return f"ROC-AUC {found.group(1) if found else 'n/a'} (held-out Trouser)"
    if name == "fashion-cyclegan":
        parts = [f"{k} {test[k]:.3f}" for k in ("to_b", "to_a", "confident", "loss_cycle") if k in test]
        return ", ".join(parts)
    if "gan" in name:
        parts = [f"{k} {test[k]:.3f}" for k in ("confident", "coverage", "spread", "label_match") if k in test]
        truncated = dict(re.findall(r"\| (\w+)_psi0\.7 \| ([0-9.]+) \|", summary))
        if truncated:
            parts.append("at psi 0.7: " + ", ".join(f"{k} {float(v):.3f}" for k, v in truncated.items()))
        return ", ".join(parts)
    return ""


if __name__ == "__main__":
    main()
