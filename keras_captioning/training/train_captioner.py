from keras_captioning.callbacks.resumable_backup import ResumableBackup
from keras_captioning.callbacks.stop_on_interrupt import StopOnInterrupt
from keras_captioning.data.make_dataset import make_dataset


def train_captioner(
    captioner,
    train,
    validation=None,
    epochs=1,
    batch_size=32,
    seed=None,
    cache_dir=None,
    backup_dir=None,
    on_resume=None,
    verbose="auto",
):
    """Trains a compiled `ImageCaptioner` on image files and their captions.

    The recipe of `keras-captioning train`. Without `cache_dir` the whole
    model trains end to end on files read batch by batch (and shuffled
    every epoch, seeded) by `keras_captioning.data.make_dataset` at the
    captioner's image size (`captioner.preprocessor.target_size`). With
    `cache_dir` only the head trains, on the frozen encoder's features
    computed once and cached there (`ImageCaptioner.fit_on_features`),
    many times faster.

    With `backup_dir` the run can be resumed: a
    `keras_captioning.callbacks.ResumableBackup` there keeps every
    finished epoch, the same call after a kill goes on after the last one
    (calling `on_resume(epochs)` first), and a finished run deletes it. A
    Ctrl-C stops at the end of the batch in progress
    (`keras_captioning.callbacks.StopOnInterrupt`) and raises
    `KeyboardInterrupt`; `keras_captioning.callbacks.backed_up_epochs`
    then says how many epochs the backup keeps.

    Args:
        captioner: a compiled `keras_captioning.models.ImageCaptioner` with
            an encoder and a fixed image size.
        train: `(image_paths, references)`: a list of image file paths and
            one list of caption strings per image.
        validation: `None` or `(image_paths, references)` for `val_loss`.
            Defaults to `None`.
        epochs: int. Defaults to `1`.
        batch_size: int. (image, caption) pairs per step. Defaults to `32`.
        seed: int or `None`. Seed of the shuffling. Defaults to `None`.
        cache_dir: str, path-like or `None`. Where the encoder's features
            are cached; `None` trains end to end. Defaults to `None`.
        backup_dir: str, path-like or `None`. Folder of the backup; `None`
            keeps none. Defaults to `None`.
        on_resume: callable or `None`. Called with the epochs a found
            backup holds, before training goes on. Defaults to `None`.
        verbose: `"auto"`, `0`, `1` or `2`, as for `keras.Model.fit`.
            Defaults to `"auto"`.

    Returns:
        The `keras.callbacks.History` of the run.

    Raises:
        ValueError: for a backup of another model (its message says so),
            or a captioner without an encoder or an image size.

    Example:

    >>> paths = ["photos/0.jpg", "photos/1.jpg"]  # doctest: +SKIP
    >>> references = [["a red square"], ["a blue circle"]]  # doctest: +SKIP
    >>> history = keras_captioning.training.train_captioner(
    ...     captioner, (paths, references), epochs=3, backup_dir="backup"
    ... )  # doctest: +SKIP
    """
    image_size = captioner.preprocessor.target_size
    if captioner.encoder is None or image_size is None:
        raise ValueError(
            "`captioner` must have an encoder and a fixed image size to "
            f"train on image files. Received: encoder={captioner.encoder!r}, "
            f"image size {image_size}"
        )
    stop = StopOnInterrupt()
    # The stop is listed first, so that an interrupted epoch is not backed
    # up as finished.
    callbacks = [stop]
    if backup_dir is not None:
        backup = ResumableBackup(backup_dir, on_resume, double_checkpoint=True)
        callbacks.append(backup)
    options = dict(epochs=epochs, verbose=verbose, callbacks=callbacks)
    with stop:
        if cache_dir is not None:
            return captioner.fit_on_features(
                train[0],
                references=train[1],
                cache_dir=cache_dir,
                validation_data=validation,
                batch_size=batch_size,
                seed=seed,
                **options,
            )

        def dataset(split, shuffle):
            return make_dataset(
                *split,
                captioner.tokenizer,
                batch_size=batch_size,
                image_size=image_size,
                shuffle=shuffle,
                seed=seed,
            )

        captioner.build(
            {"images": (None, *image_size, 3), "token_ids": (None, None)}
        )
        return captioner.fit(
            dataset(train, True),
            validation_data=validation and dataset(validation, False),
            # make_dataset shuffles every epoch itself; Keras cannot
            # shuffle a tf.data pipeline and would only warn.
            shuffle=False,
            **options,
        )
