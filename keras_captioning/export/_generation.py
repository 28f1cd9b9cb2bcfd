"""The captioning function an artifact runs: images in, token ids out."""

from keras_captioning import generation

# The generation options an artifact can bake in, besides the strategy.
OPTIONS = {
    "greedy": (
        "min_length",
        "no_repeat_ngram_size",
        "repetition_penalty",
        "bad_words",
        "bad_endings",
    ),
}
OPTIONS["beam"] = OPTIONS["greedy"] + (
    "length_penalty",
    "num_beam_groups",
    "diversity_penalty",
)


def make_sampler(captioner, strategy, beam_width, max_length, options):
    """The sampler an artifact runs, from a captioner's options (words)."""
    unknown = sorted(set(options) - set(OPTIONS[strategy]))
    if unknown:
        raise TypeError(
            f"Unknown export option(s) {unknown} for strategy={strategy!r}. "
            f"Its options are {list(OPTIONS[strategy])}. "
            f"Received: {options}"
        )
    if strategy == "beam":
        options = {"beam_width": beam_width, **options}
    return generation.get_sampler(
        strategy,
        vocabulary=captioner.vocabulary,
        max_length=max_length,
        **options,
    )


def make_caption_function(captioner, sampler, max_length):
    """`images -> {"token_ids", "scores"}`, traceable into one graph.

    It is the captioner's own `generate_step` (so any override of it or of
    `call_with_cache` is exported too) with the given sampler, decoding
    controls included. The samplers choose tokens with `top_k` and write
    them with `where`, so the loop lowers to LiteRT built-in ops and
    converts to ONNX.
    """

    def caption_ids(images):
        outputs = captioner.generate_step(
            images, sampler, max_length=max_length
        )
        return {"token_ids": outputs["token_ids"], "scores": outputs["scores"]}

    return caption_ids
