"""N-gram counting shared by BLEU and CIDEr-D."""

from collections import Counter


def count_ngrams(tokens, max_order=4):
    """Counts the n-grams of orders 1 to `max_order` in a token list.

    Args:
        tokens: list of str.
        max_order: int, the longest n-gram counted.

    Returns:
        A `collections.Counter` mapping tuples of tokens to their counts.
        The order of an n-gram is the length of its tuple.
    """
    counts = Counter()
    for order in range(1, max_order + 1):
        # Zipping shifted views yields every window of `order` tokens as a
        # tuple, faster than slicing the list once per position; the views
        # differ in length, and zip stops at the shortest.
        shifted = (tokens[shift:] for shift in range(order))
        counts.update(zip(*shifted, strict=False))
    return counts
