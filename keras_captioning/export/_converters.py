"""LiteRT and ONNX conversion of the token-id captioning function.

Both formats hold built-in ops only: the captioning loop, the recurrent
cells, attention and beam search. They return token ids and scores; the
vocabulary is written beside the file as JSON (strings would need Select
TensorFlow ops, which the LiteRT interpreter and onnxruntime lack).
"""

import os
import tempfile

import keras


def write_ids_saved_model(caption_ids, path):
    """A SavedModel with one endpoint, `serve`: images to ids and scores."""
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.add_endpoint(
        "serve",
        caption_ids,
        input_signature=[
            tf.TensorSpec((None, None, None, 3), tf.uint8, name="images")
        ],
    )
    archive.write_out(str(path), verbose=False)


def convert_to_litert(caption_ids, quantize, description):
    """The `.tflite` flatbuffer of `caption_ids`, built-in ops only."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        write_ids_saved_model(caption_ids, folder)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            folder, signature_keys=["serve"]
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        try:
            return converter.convert()
        except Exception as error:  # The converter raises its own types.
            first_line = str(error).strip().splitlines()[0]
            raise ValueError(
                f"Could not convert {description} to LiteRT built-in ops: "
                f"{first_line}"
            ) from error


def convert_to_onnx(caption_ids, path, description):
    """Writes `caption_ids` as ONNX, by way of its built-in-only `.tflite`."""
    try:
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            "ONNX export needs `tf2onnx`: `pip install "
            "keras-captioning[export]`."
        ) from error
    flatbuffer = convert_to_litert(caption_ids, None, description)
    with tempfile.TemporaryDirectory() as folder:
        tflite_path = os.path.join(folder, "captioner.tflite")
        with open(tflite_path, "wb") as file:
            file.write(flatbuffer)
        model_proto, _ = tf2onnx.convert.from_tflite(
            tflite_path,
            custom_op_handlers={
                op: (_select_as_where, []) for op in ("Select", "SelectV2")
            },
        )
    _name_like_the_signature(model_proto, _signature_names(flatbuffer))
    unknown = sorted(
        {op for op in _op_types(model_proto.graph) if op.startswith("TFL_")}
    )
    if unknown:
        raise ValueError(
            f"Could not convert {description} to ONNX: tf2onnx has no "
            f"handler for {unknown}."
        )
    with open(path, "wb") as file:
        file.write(model_proto.SerializeToString())


def _select_as_where(ctx, node, name, args):
    """Converts a `Select` to ONNX `Where`, never to tf2onnx's arithmetic.

    tf2onnx 1.17 writes a float `Select` as `cast(c) * x + cast(!c) * y`
    (faster in onnxruntime) unless one branch is a constant holding an
    infinity. The generation loop selects between tensors that hold
    `-inf` (forbidden tokens, finished beams) and finite ones, and
    `-inf * 0` is NaN: beam search with decoding controls returned NaN
    scores and padding. `Where` keeps `Select`'s semantics exactly.
    """
    from onnx import TensorProto
    from tf2onnx.onnx_opset.controlflow import Select

    # Integer selects keep the arithmetic: no infinities, and onnxruntime
    # has no `Where` kernel for some integer types.
    if ctx.get_dtype(node.output[0]) in (TensorProto.FLOAT, TensorProto.DOUBLE):
        node.set_attr("handles_nan", True)
    Select.version_9(ctx, node)


def _signature_names(flatbuffer):
    """`{tensor name: signature name}` of the `.tflite` inputs and outputs."""
    try:
        from ai_edge_litert import interpreter as litert
    except ImportError:  # TensorFlow's own, deprecated since TF 2.20.
        import tensorflow as tf

        litert = tf.lite

    interpreter = litert.Interpreter(model_content=flatbuffer)
    signature = interpreter._get_full_signature_list()["serve"]
    by_index = {
        detail["index"]: detail["name"]
        for detail in interpreter.get_input_details()
        + interpreter.get_output_details()
    }
    return {
        by_index[index]: name
        for group in ("inputs", "outputs")
        for name, index in signature[group].items()
    }


def _name_like_the_signature(model_proto, names):
    """Renames the graph's inputs and outputs `images`, `token_ids`, ...

    Identity nodes carry the new names, so references to the old ones
    (also from inside loop bodies) stay valid.
    """
    from onnx import helper

    graph = model_proto.graph
    for graph_input in graph.input:
        if graph_input.name in names:
            old, graph_input.name = graph_input.name, names[graph_input.name]
            graph.node.insert(
                0, helper.make_node("Identity", [graph_input.name], [old])
            )
    for graph_output in graph.output:
        if graph_output.name in names:
            old, graph_output.name = graph_output.name, names[graph_output.name]
            graph.node.append(
                helper.make_node("Identity", [old], [graph_output.name])
            )


def _op_types(graph):
    """Op types of a graph and of the loop bodies inside it."""
    for node in graph.node:
        yield node.op_type
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _op_types(attribute.g)
            for subgraph in attribute.graphs:
                yield from _op_types(subgraph)
