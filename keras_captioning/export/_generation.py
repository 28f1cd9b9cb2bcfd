"""The captioning function an artifact runs: images in, token ids out."""

from keras_captioning import generation


def make_caption_function(captioner, strategy, beam_width, max_length):
    """`images -> {"token_ids", "scores"}`, traceable into one graph.

    It is the captioner's own `generate_step` (so any override of it or of
    `call_with_cache` is exported too) with the named sampler. The samplers
    choose tokens with `top_k` and write them with `where`, so the loop
    lowers to LiteRT built-in ops and converts to ONNX.
    """
    if strategy == "beam":
        sampler = generation.get("beam", beam_width=beam_width)
    else:
        sampler = generation.get("greedy")

    def caption_ids(images):
        outputs = captioner.generate_step(
            images, sampler, max_length=max_length
        )
        return {"token_ids": outputs["token_ids"], "scores": outputs["scores"]}

    return caption_ids
