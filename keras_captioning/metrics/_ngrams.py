"""N-gram counts of a whole corpus, shared by BLEU and CIDEr-D.

Counting n-grams caption by caption in Python dominates the cost of both
metrics, so the whole corpus is counted at once with NumPy: every word
becomes an integer, every n-gram of order `k` an integer code built from
the code of its first `k - 1` words and its last word, and counts come from
sorting `(caption, code)` keys.
"""

from typing import NamedTuple

import numpy as np


class OrderCounts(NamedTuple):
    """The n-grams of one order, as rows `(caption, n-gram code, count)`.

    Codes are shared by references and hypotheses and range over
    `[0, num_ngrams)`. Rows are sorted by caption, then code.
    """

    num_ngrams: int
    ref_caption: np.ndarray
    ref_code: np.ndarray
    ref_count: np.ndarray
    hyp_image: np.ndarray
    hyp_code: np.ndarray
    hyp_count: np.ndarray
    # `(num_ngrams, order)` word ids of each code, when asked for.
    words: object = None


class CorpusNgrams(NamedTuple):
    """Lengths and n-gram counts of a tokenised corpus.

    References are numbered in image order: the references of image 0 come
    first, so `ref_image` is sorted.
    """

    ref_image: np.ndarray
    ref_length: np.ndarray
    hyp_length: np.ndarray
    orders: list
    # The word of each word id, when the n-grams' words were asked for.
    vocabulary: object = None


def count_corpus_ngrams(
    reference_tokens, hypothesis_tokens, max_order=4, keep_words=False
):
    """Counts the n-grams of orders 1 to `max_order` of every caption.

    Args:
        reference_tokens: list (per image) of lists (per reference) of
            token lists.
        hypothesis_tokens: list (per image) of token lists.
        max_order: int, the longest n-gram counted.
        keep_words: bool. Also record the words of every n-gram code
            (`OrderCounts.words`, `CorpusNgrams.vocabulary`), to compare
            n-grams across corpora.

    Returns:
        A `CorpusNgrams`.
    """
    captions = [
        tokens for references in reference_tokens for tokens in references
    ]
    num_refs = len(captions)
    captions.extend(hypothesis_tokens)
    lengths = np.array([len(tokens) for tokens in captions], dtype=np.int64)
    ref_image = np.repeat(
        np.arange(len(reference_tokens), dtype=np.int64),
        [len(references) for references in reference_tokens],
    )

    vocabulary = {}
    word_ids = np.fromiter(
        (
            vocabulary.setdefault(word, len(vocabulary))
            for tokens in captions
            for word in tokens
        ),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    caption_of = np.repeat(np.arange(len(captions), dtype=np.int64), lengths)
    caption_end = np.repeat(np.cumsum(lengths), lengths)

    orders = []
    # `starts` holds the positions where an n-gram of the current order
    # fits in its caption, `codes` the code of that n-gram.
    starts = np.arange(len(word_ids), dtype=np.int64)
    codes = word_ids
    num_codes = len(vocabulary)
    words = np.arange(num_codes, dtype=np.int64)[:, None]
    for order in range(1, max_order + 1):
        if order > 1:
            fits = starts + order <= caption_end[starts]
            starts = starts[fits]
            last_words = word_ids[starts + order - 1]
            previous = codes[fits]
            codes, num_codes = _dense_codes(
                previous * len(vocabulary) + last_words
            )
            if keep_words:
                new_words = np.empty((num_codes, order), dtype=np.int64)
                new_words[codes, :-1] = words[previous]
                new_words[codes, -1] = last_words
                words = new_words
        counts = _count_rows(caption_of[starts], codes, num_codes, num_refs)
        orders.append(counts._replace(words=words) if keep_words else counts)
    return CorpusNgrams(
        ref_image=ref_image,
        ref_length=lengths[:num_refs],
        hyp_length=lengths[num_refs:],
        orders=orders,
        vocabulary=list(vocabulary) if keep_words else None,
    )


def _dense_codes(values):
    """Numbers the distinct values 0, 1, ... in sorted order.

    Written out rather than `np.unique(..., return_inverse=True)`, which is
    several times slower on large integer arrays in recent NumPy.
    """
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    is_new = np.empty(len(values), dtype=bool)
    is_new[:1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=is_new[1:])
    codes = np.empty(len(values), dtype=np.int64)
    codes[order] = np.cumsum(is_new) - 1
    return codes, int(is_new.sum())


def sorted_unique(values):
    """The distinct values of an integer array, sorted.

    Sorting and dropping repeats is much faster than `np.unique(values)`,
    which hashes, in NumPy 2.3 and later.
    """
    sorted_values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=keep[1:])
    return sorted_values[keep]


def _count_rows(caption, code, num_codes, num_refs):
    # `max(..., 1)` keeps the key arithmetic valid when an order has no
    # n-gram at all (every caption too short).
    scale = max(num_codes, 1)
    keys, counts = np.unique(caption * scale + code, return_counts=True)
    row_caption = keys // scale
    row_code = keys % scale
    is_ref = row_caption < num_refs
    return OrderCounts(
        num_ngrams=num_codes,
        ref_caption=row_caption[is_ref],
        ref_code=row_code[is_ref],
        ref_count=counts[is_ref],
        hyp_image=row_caption[~is_ref] - num_refs,
        hyp_code=row_code[~is_ref],
        hyp_count=counts[~is_ref],
    )


def lookup(sorted_keys, keys):
    """Finds `keys` in the sorted, distinct `sorted_keys`.

    Returns:
        A tuple `(found, index)`: a bool mask over `keys`, and for the keys
        found, their index in `sorted_keys`.
    """
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool), np.zeros(0, dtype=np.int64)
    position = np.searchsorted(sorted_keys, keys)
    position = np.minimum(position, len(sorted_keys) - 1)
    found = sorted_keys[position] == keys
    return found, position[found]
