"""Caption metrics of the COCO evaluation: BLEU, CIDEr-D, ROUGE-L, METEOR.

BLEU-1 to BLEU-4, CIDEr-D and ROUGE-L are computed in NumPy and pure Python
and equal the numbers of `pycocoevalcap` on the same tokenised captions;
METEOR runs `pycocoevalcap`'s Java scorer. Every metric takes `references`
(a list, one entry per image, of lists of str) and `hypotheses` (a list of
str) and tokenises both with `tokenize_caption`.
"""

from keras_captioning.metrics.bleu import corpus_bleu
from keras_captioning.metrics.caption_endings import ends_properly
from keras_captioning.metrics.cider import CiderD
from keras_captioning.metrics.cider import cider_d
from keras_captioning.metrics.evaluation import evaluate_captioner
from keras_captioning.metrics.evaluation import evaluate_captions
from keras_captioning.metrics.masked_token_accuracy import MaskedTokenAccuracy
from keras_captioning.metrics.meteor import meteor
from keras_captioning.metrics.rouge import rouge_l
from keras_captioning.metrics.tokenization import tokenize_caption

__all__ = [
    "CiderD",
    "MaskedTokenAccuracy",
    "cider_d",
    "corpus_bleu",
    "ends_properly",
    "evaluate_captioner",
    "evaluate_captions",
    "meteor",
    "rouge_l",
    "tokenize_caption",
]
