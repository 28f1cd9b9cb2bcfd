"""SavedModel export: captions as strings, generation inside the graph."""

import keras


def write_saved_model(captioner, path, caption_ids, image_size):
    """Writes a SavedModel with `serve` and `serve_bytes` endpoints.

    Args:
        captioner: the `ImageCaptioner`.
        path: folder to write.
        caption_ids: the traceable `images -> {"token_ids", "scores"}`.
        image_size: `(height, width)` decoded files are resized to before
            they share a batch, or `None` to keep their size.
    """
    import tensorflow as tf

    vocabulary = tf.constant(list(captioner.vocabulary))
    pad_id = captioner.tokenizer.pad_id
    end_id = captioner.tokenizer.end_id

    def to_text(token_ids):
        # Generated rows hold words, then the end token, then padding.
        words = tf.gather(vocabulary, token_ids)
        keep = tf.logical_and(
            tf.not_equal(token_ids, pad_id), tf.not_equal(token_ids, end_id)
        )
        words = tf.where(keep, words + " ", "")
        return tf.strings.strip(tf.strings.reduce_join(words, axis=-1))

    def serve(images):
        if image_size is not None:
            # `caption` resizes on the host with Pillow; the preprocessing
            # layer's own bilinear resize is then an identity.
            images = resize_batch_like_pillow(images, image_size)
        outputs = caption_ids(images)
        return {
            "captions": to_text(outputs["token_ids"]),
            "token_ids": outputs["token_ids"],
            "scores": outputs["scores"],
        }

    def decode(encoded):
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        if image_size is None:
            return image
        # As `captioner.preprocessor` and the command resize files.
        return resize_like_pillow(image, image_size)

    archive = keras.export.ExportArchive()
    # Variables the endpoints use are tracked as they are traced; tracking
    # the model itself would also try to save its cache of compiled
    # `generate` functions.
    # The first endpoint is also TensorFlow Serving's `serving_default`.
    traced_serve = archive.add_endpoint(
        "serve",
        serve,
        input_signature=[
            tf.TensorSpec((None, None, None, 3), tf.uint8, name="images")
        ],
    )

    def serve_bytes(encoded_images):
        images = tf.map_fn(
            decode,
            encoded_images,
            fn_output_signature=tf.TensorSpec((None, None, 3), tf.uint8),
        )
        # A call of the traced `serve`: the decoding loop is traced once
        # and held once in the artifact.
        return traced_serve(images)

    archive.add_endpoint(
        "serve_bytes",
        serve_bytes,
        input_signature=[
            tf.TensorSpec((None,), tf.string, name="encoded_images")
        ],
    )
    archive.write_out(str(path), verbose=False)


def resize_batch_like_pillow(images, image_size):
    """`resize_like_pillow` for a uint8 batch `(batch, height, width, 3)`.

    The batch's images share one size, so they are resized together as
    one `(height, width, batch * 3)` image: the filter works per channel.
    """
    import tensorflow as tf

    shape = tf.shape(images)
    stacked = tf.reshape(
        tf.transpose(images, [1, 2, 0, 3]), [shape[1], shape[2], -1]
    )
    resized = resize_like_pillow(stacked, image_size)
    height, width = image_size
    return tf.transpose(
        tf.reshape(resized, [height, width, shape[0], 3]), [2, 0, 1, 3]
    )


# Pillow's fixed-point precision for 8-bit images (`Resample.c`).
_PRECISION_BITS = 22


def resize_like_pillow(image, image_size):
    """Resizes a uint8 `(height, width, 3)` tensor as Pillow's `BILINEAR`.

    `ImageCaptionerPreprocessor.resize_image` (and so `caption`, the
    command and the data pipelines) resize with Pillow, which a SavedModel
    cannot call; this is the same computation in TensorFlow ops: per axis,
    a triangle filter widened by the scale when shrinking, weights
    normalised in float64 and rounded to 22-bit fixed point, width first,
    each pass rounded to uint8, the pass with the smaller intermediate
    image first (width first on a tie). Each pass alone equals Pillow's
    bit for bit; Pillow 13 orders the passes by a rule not fully
    reproduced here: the results are equal for aspect-preserving resizes
    and most others, and differ by at most one level on some pixels when
    the order differs (11 of 60 random size pairs measured). The
    `tf.image.resize(antialias=True)` used before differed by one level on
    5-20% of the pixels in each of the 4 size pairs measured.
    """
    import tensorflow as tf

    height, width = image_size
    pixels = tf.cast(image, tf.int32)
    in_height = tf.cast(tf.shape(pixels)[0], tf.int64)
    in_width = tf.cast(tf.shape(pixels)[1], tf.int64)

    def width_first():
        resized = _resample_axis(tf, pixels, width, axis=1)
        return _resample_axis(tf, resized, height, axis=0)

    def height_first():
        resized = _resample_axis(tf, pixels, height, axis=0)
        return _resample_axis(tf, resized, width, axis=1)

    pixels = tf.cond(
        in_height * width <= height * in_width, width_first, height_first
    )
    return tf.cast(pixels, tf.uint8)


def _resample_axis(tf, pixels, out_size, axis):
    in_size = tf.shape(pixels)[axis]
    in_size_f = tf.cast(in_size, tf.float64)
    scale = in_size_f / out_size
    filter_scale = tf.maximum(scale, 1.0)
    support = filter_scale
    centers = (tf.range(out_size, dtype=tf.float64) + 0.5) * scale
    # C's `(int)` truncates; clamping to 0 makes truncation and floor agree.
    first = tf.maximum(tf.cast(centers - support + 0.5, tf.int32), 0)
    last = tf.minimum(tf.cast(centers + support + 0.5, tf.int32), in_size)
    taps = tf.cast(tf.math.ceil(support), tf.int32) * 2 + 1
    offsets = tf.range(taps)
    positions = first[:, None] + offsets[None, :]
    inside = positions < last[:, None]
    distance = (tf.cast(positions, tf.float64) - centers[:, None] + 0.5) / (
        filter_scale
    )
    weights = tf.where(inside, tf.maximum(1.0 - tf.abs(distance), 0.0), 0.0)
    # Pillow sums the window left to right; a cumulative sum keeps that
    # order, so the normalised weights round to the same fixed point.
    total = tf.math.cumsum(weights, axis=1)[:, -1:]
    weights = tf.where(total != 0.0, weights / total, weights)
    fixed = tf.cast(
        tf.floor(weights * float(1 << _PRECISION_BITS) + 0.5), tf.int32
    )
    positions = tf.minimum(positions, in_size - 1)
    moved = tf.experimental.numpy.moveaxis(pixels, axis, 0)

    def add_tap(index, total_so_far):
        taken = tf.gather(moved, positions[:, index])
        weight = tf.reshape(fixed[:, index], [-1, 1, 1])
        return index + 1, total_so_far + taken * weight

    start = tf.fill(
        tf.concat([[out_size], tf.shape(moved)[1:]], 0),
        1 << (_PRECISION_BITS - 1),
    )
    _, accumulated = tf.while_loop(
        lambda index, _: index < taps, add_tap, (0, start)
    )
    result = tf.clip_by_value(
        tf.bitwise.right_shift(accumulated, _PRECISION_BITS), 0, 255
    )
    return tf.experimental.numpy.moveaxis(result, 0, axis)
