"""The captioning function an artifact runs: images in, token ids out.

Built only from the model's public generation pieces (`encode_images`,
`decoder.get_initial_state`, `decoder.call_with_cache`) and a sampler from
`keras_captioning.generation`, so it traces into one TensorFlow graph with
the loop inside.
"""

from keras import ops

from keras_captioning import generation


class _BuiltInBeamSampler(generation.BeamSampler):
    # Writes each step's tokens with a one-hot `where` rather than
    # `slice_update`, which TensorFlow lowers to `XlaDynamicUpdateSlice`:
    # LiteRT runs it, but neither tf2onnx nor onnxruntime knows it.
    # (Interim: the samplers' own rewrite on branch `generation` avoids the
    # op, after which this override changes nothing.)
    def _write_step(self, buffer, index, values):
        positions = ops.arange(ops.shape(buffer)[1], dtype="int32")
        at_index = ops.reshape(
            ops.equal(positions, index),
            (1, -1) + (1,) * (len(buffer.shape) - 2),
        )
        values = ops.cast(ops.expand_dims(values, 1), buffer.dtype)
        return ops.where(at_index, values, buffer)


def make_sampler(strategy, beam_width, built_ins_only):
    """The sampler an artifact runs.

    `built_ins_only` (LiteRT and ONNX) runs greedy search as a beam search
    of width 1, which picks the same tokens with the same scores through
    `top_k`: the greedy sampler's `argmax` lowers to `BitwiseAnd`, not a
    LiteRT built-in.
    """
    if built_ins_only:
        width = beam_width if strategy == "beam" else 1
        return _BuiltInBeamSampler(beam_width=width)
    if strategy == "beam":
        return generation.get("beam", beam_width=beam_width)
    return generation.get("greedy")


def make_caption_function(captioner, sampler, max_length):
    """`images -> {"token_ids", "scores"}` for a batch of images.

    Generation matches `captioner.generate`: after `max_length` words only
    the end token may follow, and the pad, start and unknown tokens are
    never written.
    """
    decoder = captioner.decoder
    tokenizer = captioner.tokenizer
    vocabulary_size = tokenizer.vocabulary_size
    end_id = tokenizer.end_id

    def step_fn(token_ids, state):
        logits, decoder_state, _ = decoder.call_with_cache(
            token_ids, state["decoder"]
        )
        words_done = ops.expand_dims(state["words"] >= max_length, -1)
        end_only = ops.where(ops.arange(vocabulary_size) == end_id, 0.0, -1e9)
        logits = ops.where(words_done, ops.cast(end_only, logits.dtype), logits)
        new_state = {"decoder": decoder_state, "words": state["words"] + 1}
        return logits, new_state, None

    def caption_ids(images):
        features = captioner.encode_images(images, training=False)
        state = {
            "decoder": decoder.get_initial_state(features),
            "words": ops.zeros((ops.shape(features)[0],), "int32"),
        }
        outputs = sampler(
            step_fn,
            state,
            start_token_id=tokenizer.start_id,
            end_token_id=end_id,
            max_length=max_length + 1,
            banned_token_ids=(
                tokenizer.pad_id,
                tokenizer.start_id,
                tokenizer.unknown_id,
            ),
            pad_token_id=tokenizer.pad_id,
        )
        return {"token_ids": outputs["token_ids"], "scores": outputs["scores"]}

    return caption_ids
