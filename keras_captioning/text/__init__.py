"""Caption text: standardisation, vocabulary and tokenizer.

Plain Python and NumPy; nothing here runs inside a compiled function.
"""

from keras_captioning.text.build_vocabulary import build_vocabulary
from keras_captioning.text.caption_tokenizer import CaptionTokenizer
from keras_captioning.text.special_tokens import END_TOKEN
from keras_captioning.text.special_tokens import PAD_TOKEN
from keras_captioning.text.special_tokens import SPECIAL_TOKENS
from keras_captioning.text.special_tokens import START_TOKEN
from keras_captioning.text.special_tokens import UNKNOWN_TOKEN
from keras_captioning.text.standardize_caption import standardize_caption
from keras_captioning.text.standardize_caption import standardized_words

__all__ = [
    "END_TOKEN",
    "PAD_TOKEN",
    "SPECIAL_TOKENS",
    "START_TOKEN",
    "UNKNOWN_TOKEN",
    "CaptionTokenizer",
    "build_vocabulary",
    "standardize_caption",
    "standardized_words",
]
