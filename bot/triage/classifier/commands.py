"""The `train` and `evaluate` commands of `python -m bot`."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.config import Config, ConfigError
from bot.storage import db
from bot.triage.classifier import e5_weights
from bot.triage.classifier.e5_encoder import PREFIX
from bot.triage.classifier.encoders import DELTA_FILE, EncoderError, build_encoder
from bot.triage.classifier.evaluation import evaluate_head, evaluate_triage
from bot.triage.classifier.examples import (
    BUILTIN_HEADS,
    Example,
    TrainingDataError,
    load_training_file,
    recorded_examples,
)
from bot.triage.classifier.finetune import FineTuneError
from bot.triage.classifier.store import ModelError, model_for, save_model, seed_vectors, shipped_examples
from bot.triage.classifier.training import TrainingError, train_model
from bot.triage.classifier.triager import ClassifierTriager

err = Console(stderr=True, highlight=False, soft_wrap=True)


def _config(obj) -> Config:
    try:
        return obj.config
    except ConfigError as exc:
        raise click.ClickException(f"config error: {exc}") from None


def _head_labels(config: Config, head: str) -> list[str] | None:
    """The labels a head accepts: fixed for built-in heads, from config for declared custom heads, else free."""
    if head in BUILTIN_HEADS:
        return list(BUILTIN_HEADS[head])
    for custom in config.triage.custom_heads:
        if custom.name == head and custom.labels:
            return list(custom.labels)
    return None


def default_model_dir(config: Config) -> Path:
    """Where `train` writes when no --model-dir is given: triage.model_dir, else <data_dir>/models/trained."""
    return Path(config.triage.model_dir) if config.triage.model_dir else Path(config.data_dir) / "models" / "trained"


def _recorded(config: Config) -> list[Example]:
    """Labelled examples recorded in the database; none when there is no database yet."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    url = config.database_url()
    parsed = make_url(url)
    if (
        parsed.get_backend_name() == "sqlite"
        and parsed.database not in (None, "", ":memory:")
        and not Path(parsed.database).exists()
    ):
        return []
    engine = db.make_engine(url)
    try:
        if not inspect(engine).has_table("labelled_examples"):
            return []
        with db.session_factory(engine)() as session:
            return recorded_examples(session)
    finally:
        engine.dispose()


@click.command("train")
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="NAME",
    help="Head the matching --data file trains (built-in or custom); repeat with --data.",
)
@click.option(
    "--data",
    "data_files",
    multiple=True,
    metavar="FILE.jsonl",
    help='JSONL of {"text", "label"} lines for the matching --head.',
)
@click.option(
    "--model-dir",
    default=None,
    metavar="DIR",
    help="Where to write the model (default: triage.model_dir, else <data_dir>/models/trained).",
)
@click.option("--seeds/--no-seeds", default=True, show_default=True, help="Include the shipped seed examples.")
@click.option(
    "--recorded/--no-recorded",
    default=True,
    show_default=True,
    help="Include the examples recorded from approvals, edits, rejections and corrections.",
)
@click.option(
    "--fine-tune",
    is_flag=True,
    help="Also fine-tune the e5 encoder on the examples (needs the transformers extra; about an hour on 2 cores).",
)
@click.pass_obj
def train(
    obj,
    heads: tuple[str, ...],
    data_files: tuple[str, ...],
    model_dir: str | None,
    seeds: bool,
    recorded: bool,
    fine_tune: bool,
) -> None:
    """Retrain the classifier from the seeds, the recorded examples and any --head/--data files."""
    config = _config(obj)
    if len(heads) != len(data_files):
        raise click.UsageError("give one --head for each --data file (e.g. --head outage --data outage.jsonl)")
    examples: list[Example] = []
    try:
        if seeds:
            examples.extend(shipped_examples())
        for custom in config.triage.custom_heads:
            for path in custom.data:
                examples.extend(load_training_file(path, custom.name, custom.labels or None))
        if recorded:
            found = _recorded(config)
            err.print(f"{len(found)} recorded example(s) from the database")
            examples.extend(found)
        for head, path in zip(heads, data_files, strict=True):
            examples.extend(load_training_file(path, head, _head_labels(config, head)))
        missing = [head for head in BUILTIN_HEADS if head not in {e.head for e in examples}]
        if missing:
            raise click.ClickException(
                f"no examples for the built-in head(s) {', '.join(missing)}, which triage needs; "
                "train with the seeds (drop --no-seeds) or add their --head/--data files"
            )
        if fine_tune and config.triage.encoder != "e5":
            raise click.ClickException("--fine-tune tunes the e5 encoder; set triage.encoder: e5")
        target = Path(model_dir) if model_dir else default_model_dir(config)
        label_sets = {h: labels for h in {e.head for e in examples} if (labels := _head_labels(config, h))}
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=not err.is_terminal,
        ) as progress:
            if fine_tune:
                _fine_tune(examples, target, progress)
            encoder = build_encoder(config.triage, target if fine_tune else None)
            encode_task = progress.add_task("encoding texts", total=None)
            head_names = sorted({e.head for e in examples})
            head_task = progress.add_task("training heads", total=len(head_names))

            def report(stage: str, done: int, total: int) -> None:
                if stage == "encode":
                    progress.update(encode_task, completed=done, total=total)
                else:
                    progress.advance(head_task)

            known = seed_vectors(encoder, config.triage.encoder_cache_dir, report) if seeds else None
            model = train_model(encoder, examples, label_sets, report, known)
    except (TrainingDataError, TrainingError, EncoderError, ModelError, FineTuneError) as exc:
        raise click.ClickException(str(exc)) from None
    model.meta["fingerprint"] = hashlib.sha256(json.dumps(model.meta, sort_keys=True).encode()).hexdigest()[:16]
    save_model(model, target)
    counts = {head: sum(labels.values()) for head, labels in model.meta["examples"].items()}
    err.print(
        f"trained {len(model.heads)} head(s) on {model.meta['texts']} text(s) in {model.meta['train_seconds']} s "
        f"→ {target}"
    )
    err.print("examples per head: " + ", ".join(f"{h} {n}" for h, n in counts.items()))
    if not model_dir and not config.triage.model_dir:
        err.print(f"use it with: triage --model-dir {target}, or set triage.model_dir: {target} in config.yaml")


def _fine_tune(examples: list[Example], target: Path, progress: Progress) -> None:
    """Learn an e5 delta from the examples into target/e5_delta.npz (the heads are fitted on it afterwards)."""
    import numpy as np

    from bot.triage.classifier.finetune import fine_tune

    task = progress.add_task("fine-tuning e5", total=None)
    delta, summary = fine_tune(
        e5_weights.read(),
        examples,
        PREFIX,
        progress=lambda done, total: progress.update(task, completed=done, total=total),
    )
    target.mkdir(parents=True, exist_ok=True)
    temporary = target / (DELTA_FILE + ".tmp")
    with temporary.open("wb") as handle:
        np.savez_compressed(handle, allow_pickle=False, **delta)
    temporary.replace(target / DELTA_FILE)
    err.print(f"fine-tuned e5 on {summary['texts']} text(s) in {summary['seconds']} s")


@click.command("evaluate")
@click.option("--head", required=True, metavar="NAME", help="The head to measure (category, sentiment, level, …).")
@click.option("--data", "data_file", required=True, metavar="FILE.jsonl", help='JSONL of {"text", "label"} lines.')
@click.option(
    "--model-dir",
    default=None,
    metavar="DIR",
    help="A trained model (default: triage.model_dir, else the default model).",
)
@click.option(
    "--with-rules",
    is_flag=True,
    help="Measure the whole triage (model, then config rules) instead of the model's head alone.",
)
@click.option(
    "--addressed/--not-addressed",
    "addressed",
    default=None,
    help="With --with-rules: treat every text as addressed to the brand (or not); default: unknown.",
)
@click.pass_obj
def evaluate(obj, head: str, data_file: str, model_dir: str | None, with_rules: bool, addressed: bool | None) -> None:
    """Print per-class precision, recall, F1 and macro F1 of one head on a labelled file, as JSON."""

    config = _config(obj)
    try:
        encoder = build_encoder(config.triage)
        model = model_for(config, encoder, model_dir or config.triage.model_dir)
        if head not in model.heads:
            raise click.ClickException(f"the model has no head {head!r}; it has: {', '.join(model.heads)}")
        examples = load_training_file(data_file, head, model.heads[head].labels)
        if with_rules:
            triager = ClassifierTriager(config, model, encoder)
            report = evaluate_triage(triager, head, examples, model.heads[head].labels, addressed)
        else:
            report = evaluate_head(model, encoder, head, examples, config.triage.low_confidence)
    except (TrainingDataError, EncoderError, ModelError) as exc:
        raise click.ClickException(str(exc)) from None
    sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
