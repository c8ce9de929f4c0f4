"""A stronger encoder through transformers: same heads, same training, checked offline with a tiny random model."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from bot.triage.build import build_triager  # noqa: E402 - after the importorskip above
from bot.triage.classifier.encoders import TransformersEncoder  # noqa: E402
from bot.triage.decision import TriageInput  # noqa: E402
from tests.triage.classifier.conftest import make_config  # noqa: E402

WORDS = (
    "acme my order never arrived package late broken refund card thanks love great app crash down outage "
    "how do i change plan please help where is mi pedido nunca llegó paquete tarde roto gracias me encanta "
    "la app se cae cómo cambio tarifa por favor ayuda dónde está hola hi the a is it to and y el de que"
).split()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, monkeypatch_module):
    """A 2-layer BERT with random weights and a WordPiece vocabulary written here: nothing is downloaded."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *dict.fromkeys(WORDS),
        *"abcdefghijklmnopqrstuvwxyz",
        *(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyzáéíóúñ"),
        "@",
        "?",
        "!",
        ",",
        ".",
        "¿",
        "¡",
    ]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    transformers.BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def monkeypatch_module():
    """Keep the hub unreachable for the whole module: an accidental download fails the test."""
    patch = pytest.MonkeyPatch()
    patch.setenv("HF_HUB_OFFLINE", "1")
    patch.setenv("TRANSFORMERS_OFFLINE", "1")
    yield patch
    patch.undo()


def test_the_transformers_encoder_embeds_texts_as_unit_vectors(tiny_model):
    encoder = TransformersEncoder(str(tiny_model), device="cpu")
    vectors = encoder.encode(["@acme my order never arrived", "@acme mi pedido nunca llegó", "hola"])
    assert vectors.shape == (3, 32)
    assert abs(float((vectors**2).sum(axis=1).max()) - 1.0) < 1e-4
    assert encoder.name == f"transformers:{tiny_model.name}"


def test_config_can_switch_triage_to_a_local_transformers_model(tiny_model, tmp_path):
    config = make_config(
        tmp_path,
        encoder="transformers",
        transformers_model=str(tiny_model),
        transformers_device="cpu",
        custom_heads=[{"name": "outage"}],
    )
    triager = build_triager(config)
    [triage] = triager.triage(
        [TriageInput(id="1", text="@acme the app is down, outage everywhere", addressed_to_brand=True)]
    )
    assert triage.model.startswith(f"transformers:{tiny_model.name}+heads:")
    assert triage.category in ("complaint", "question", "request", "praise", "suggestion", "other")
    assert triage.level in ("monitor", "self_service", "investigate", "private")
    assert triage.labels["outage"] in ("yes", "no")
    assert triage.mode == "reactive"
    # The heads were trained from the seeds at first use and cached for the next start.
    cached = list((tmp_path / "models").glob("seeds-transformers_*"))
    assert len(cached) == 1 and (cached[0] / "heads.npz").is_file()


def test_train_and_evaluate_work_the_same_with_a_transformers_encoder(tiny_model, tmp_path):
    from click.testing import CliRunner

    from bot.cli import main

    config = tmp_path / "config.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nstorage:\n  url: sqlite:///{tmp_path / 'bot.storage.db'}\n"
        f"triage:\n  encoder: transformers\n  transformers_model: {tiny_model}\n  transformers_device: cpu\n",
        encoding="utf-8",
    )
    data = tmp_path / "sentiment.jsonl"
    rows = [
        {"text": "@acme thanks, love the app", "label": "positive"},
        {"text": "@acme the app is broken, order never arrived", "label": "negative"},
        {"text": "@acme how do i change plan", "label": "neutral"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    model_dir = tmp_path / "model"
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "train", "--head", "sentiment", "--data", str(data), "--model-dir", str(model_dir)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert json.loads((model_dir / "model.json").read_text())["encoder"] == f"transformers:{tiny_model.name}"
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(config),
            "evaluate",
            "--head",
            "sentiment",
            "--data",
            str(data),
            "--model-dir",
            str(model_dir),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["examples"] == 3
