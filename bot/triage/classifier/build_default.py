"""Rebuild the shipped default model from the shipped seeds: `python -m bot.triage.classifier.build_default [--fine-tune]`.

The heads are fitted on the e5 vectors of the seeds (about three minutes the first time, while the seeds are
encoded). With --fine-tune (needs the `transformers` extra) an e5 delta is learnt from the seeds first, about
twenty minutes an epoch on two cores, and shipped as default_model/e5_delta.npz; measured on ../shared/data,
it did not beat e5 as published out of the box (docs/classifier.md), so the shipped model has none. Nothing but
bot/triage/classifier/seeds is ever used.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.triage.classifier import e5_weights
from bot.triage.classifier.e5_encoder import PREFIX, SHIPPED_DELTA, E5Encoder, shipped_delta
from bot.triage.classifier.encoders import UseEncoder
from bot.triage.classifier.store import (
    SHIPPED_MODEL_DIR,
    SHIPPED_USE_DIR,
    save_model,
    seed_vectors,
    seeds_fingerprint,
    shipped_examples,
)
from bot.triage.classifier.training import train_model


def build(fine_tune: bool = False) -> None:
    """Fit the shipped heads on the seeds for e5 (default_model/) and USE (default_model/use/); fine_tune: the delta first."""
    examples = shipped_examples()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as progress:
        if fine_tune:
            import numpy as np

            from bot.triage.classifier.finetune import fine_tune as learn

            task = progress.add_task("fine-tuning e5 on the seeds", total=None)
            delta, summary = learn(
                e5_weights.read(),
                examples,
                PREFIX,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
            SHIPPED_MODEL_DIR.mkdir(parents=True, exist_ok=True)
            with SHIPPED_DELTA.open("wb") as handle:
                np.savez_compressed(handle, allow_pickle=False, **delta)
            (SHIPPED_MODEL_DIR / "e5_delta.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        for encoder, directory in (
            (E5Encoder(delta=shipped_delta()), SHIPPED_MODEL_DIR),
            (UseEncoder(), SHIPPED_USE_DIR),
        ):
            task = progress.add_task(f"encoding the seeds ({encoder.name})", total=None)
            known = seed_vectors(
                encoder,
                progress=lambda stage, done, total, task=task: progress.update(task, completed=done, total=total),
            )
            model = train_model(encoder, examples, known=known)
            model.meta["fingerprint"] = seeds_fingerprint(encoder.name)
            model.meta["trained_on"] = "bot/triage/classifier/seeds only"
            model.meta.pop("trained_at", None)
            model.meta.pop("train_seconds", None)
            save_model(model, directory)
            sys.stdout.write(
                f"wrote {directory} ({', '.join(model.heads)}; {model.meta['texts']} texts; encoder {encoder.name})\n"
            )


def main(argv: list[str] | None = None) -> None:
    """Command line: --fine-tune to learn the encoder delta again too."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fine-tune", action="store_true", help="learn the e5 delta again (needs torch)")
    build(parser.parse_args(argv).fine_tune)


if __name__ == "__main__":
    main()
