"""Benchmark: triage 10,000 mentions at batch 64 and batch 1, next to the bare encoder, with peak memory.

    .venv/bin/python bench/triage.py [--mentions 10000] [--encoder e5|use] [--data FILE.jsonl] [--transformers MODEL]

Mentions come from --data (JSONL with a "text" field), else from ../shared/data when it is present (real tweets),
else they are built from the shipped seeds. Both the encoder and the pipeline run without the embedding
cache, on the same texts, in the same process, in alternation (3 rounds): each figure is the best round, so
another process briefly taking the CPU does not decide the result, and the median of the paired ratios is given.
With --transformers and a GPU, the transformers encoder's
figure on the GPU is added (batch triage of a backfill).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.triage.classifier.corpus import seed_files  # noqa: E402
from bot.triage.classifier.encoders import TransformersEncoder, build_encoder  # noqa: E402
from bot.triage.classifier.store import model_for  # noqa: E402
from bot.triage.classifier.triager import ClassifierTriager  # noqa: E402
from bot.triage.decision import TriageInput  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
SHARED_FILES = (
    "mentions-es-airlines-sentiment-noisy.jsonl",
    "sentiment-en-tweets-dev.jsonl",
    "requests-en-banking-intents-train.jsonl",
)


def load_texts(count: int, data: str | None) -> tuple[list[str], str]:
    """count mention texts and where they came from; repeats get a numbered suffix so no two are equal."""
    if data:
        paths, source = [Path(data)], data
    elif all((SHARED_DATA / name).is_file() for name in SHARED_FILES):
        paths, source = [SHARED_DATA / name for name in SHARED_FILES], f"{SHARED_DATA} (real tweets and requests)"
    else:
        paths, source = seed_files(), "the shipped seeds (../shared/data not present)"
    texts: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    # Interleave the sources so every batch mixes languages and lengths.
    texts = texts[::3] + texts[1::3] + texts[2::3]
    out = [
        text if i < len(texts) else f"{text} #{i // len(texts)}"
        for i, text in ((i, texts[i % len(texts)]) for i in range(count))
    ]
    return out, source


def rate(run, texts: list[str], batch: int) -> float:
    """Throughput in texts per second of run(chunk) over texts in chunks of batch."""
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        run(texts[start : start + batch])
    return len(texts) / (time.perf_counter() - started)


def paired(encode, pipeline, texts: list[str], batch: int, rounds: int) -> dict:
    """Encoder and pipeline measured in alternation, so both see the same machine; best of each, and the pairs."""
    pairs = [(rate(encode, texts, batch), rate(pipeline, texts, batch)) for _ in range(rounds)]
    bare, full = max(p[0] for p in pairs), max(p[1] for p in pairs)
    ratios = sorted(p[1] / p[0] for p in pairs)
    return {
        "encoder_per_s": round(bare, 1),
        "triage_per_s": round(full, 1),
        "triage_vs_encoder": round(full / bare, 3),
        "paired_ratio_median": round(ratios[len(ratios) // 2], 3),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=10000, help="mentions triaged per run (default 10,000)")
    parser.add_argument(
        "--batch1-mentions",
        type=int,
        default=None,
        help="mentions for the batch-1 runs (default: the same as --mentions)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating encoder/pipeline runs per batch size")
    parser.add_argument("--data", default=None, help="JSONL file of mentions with a 'text' field")
    parser.add_argument("--config", default=None, help="config.yaml (default: the bundled one)")
    parser.add_argument("--encoder", choices=("e5", "use"), default=None, help="override triage.encoder")
    parser.add_argument(
        "--transformers",
        default=None,
        metavar="MODEL",
        help="also time this transformers encoder (local folder or hub id) on the GPU when there is one",
    )
    args = parser.parse_args()
    texts, source = load_texts(args.mentions, args.data)
    single = texts[: args.batch1_mentions or args.mentions]
    config = load_config(args.config)
    config.triage.embedding_cache_size = 0
    if args.encoder:
        config.triage.encoder = args.encoder
    _first_use(config.triage.encoder)
    started = time.perf_counter()
    encoder = build_encoder(config.triage)
    triager = ClassifierTriager(config, model_for(config, encoder), encoder)
    load_seconds = time.perf_counter() - started
    items = [TriageInput(id=str(i), text=text) for i, text in enumerate(texts)]
    by_text = {id(text): item for text, item in zip(texts, items, strict=True)}

    def pipeline(chunk: list[str]) -> None:
        triager.triage([by_text[id(text)] for text in chunk])

    encoder.encode(texts[:64])  # warm-up: first calls touch the weights and fill the token projection cache
    report: dict = {
        "mentions": len(texts),
        "batch1_mentions": len(single),
        "source": source,
        "encoder": encoder.name,
        "start_up_seconds": round(load_seconds, 2),
    }
    for batch, chunk in ((64, texts), (1, single)):
        report[f"batch_{batch}"] = paired(encoder.encode, pipeline, chunk, batch, args.rounds)
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if args.transformers:
        report["transformers_gpu"] = _transformers_figure(args.transformers, texts)
    sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def _first_use(encoder: str) -> None:
    """Build the encoder once in another process: a first use builds e5 into the cache, which no start-up repeats."""
    import subprocess

    code = (
        "import sys; from bot.config import parse_config; from bot.triage.classifier.encoders import build_encoder; "
        "build_encoder(parse_config({'triage': {'encoder': sys.argv[1]}}).triage)"
    )
    subprocess.run([sys.executable, "-c", code, encoder], check=True, cwd=ROOT)


def _transformers_figure(model: str, texts: list[str]) -> dict:
    """Throughput of a transformers encoder on the GPU, batch 64 (a backfill), or why there is none."""
    try:
        import torch
    except ImportError:
        return {"skipped": "torch is not installed (pip install 'mention-desk[transformers]')"}
    if not torch.cuda.is_available():
        return {"skipped": "no GPU on this machine"}
    encoder = TransformersEncoder(model, device="cuda", batch_size=64)
    encoder.encode(texts[:64])
    torch.cuda.synchronize()
    per_second = max(rate(encoder.encode, texts, 64) for _ in range(2))
    return {"model": model, "device": torch.cuda.get_device_name(0), "encoder_per_s_batch_64": round(per_second, 1)}


if __name__ == "__main__":
    main()
