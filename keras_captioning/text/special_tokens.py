"""The four special tokens every caption vocabulary starts with.

Their ids are fixed, so that padding is always id 0 (what Keras masking
expects) and a model can find the start and end tokens without asking the
tokenizer.
"""

PAD_TOKEN = "<pad>"
START_TOKEN = "<start>"
END_TOKEN = "<end>"
UNKNOWN_TOKEN = "<unk>"

# The order is the id: `<pad>` is 0, `<start>` 1, `<end>` 2, `<unk>` 3.
SPECIAL_TOKENS = (PAD_TOKEN, START_TOKEN, END_TOKEN, UNKNOWN_TOKEN)
