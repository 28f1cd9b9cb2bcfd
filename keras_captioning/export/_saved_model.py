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
        # As `keras_captioning.data.make_dataset` resizes files.
        resized = tf.image.resize(image, image_size, antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)

    def serve_bytes(encoded_images):
        images = tf.map_fn(
            decode,
            encoded_images,
            fn_output_signature=tf.TensorSpec((None, None, 3), tf.uint8),
        )
        return serve(images)

    archive = keras.export.ExportArchive()
    # Variables the endpoints use are tracked as they are traced; tracking
    # the model itself would also try to save its cache of compiled
    # `generate` functions.
    # The first endpoint is also TensorFlow Serving's `serving_default`.
    archive.add_endpoint(
        "serve",
        serve,
        input_signature=[
            tf.TensorSpec((None, None, None, 3), tf.uint8, name="images")
        ],
    )
    archive.add_endpoint(
        "serve_bytes",
        serve_bytes,
        input_signature=[
            tf.TensorSpec((None,), tf.string, name="encoded_images")
        ],
    )
    archive.write_out(str(path), verbose=False)
