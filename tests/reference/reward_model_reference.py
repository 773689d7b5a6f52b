#!/usr/bin/env python3
"""Independent PyTorch reference for reward models saved as Hugging Face *ForSequenceClassification.

Reuses the plain-PyTorch Llama/Qwen forward of families_reference.py (written from transformers' modeling code, not
imported), with the scalar head `score.weight` (1 x hidden) in place of lm_head, and reads the score where transformers'
LlamaForSequenceClassification / Qwen2ForSequenceClassification do (transformers >= 4.48):

    non_pad = (input_ids != config.pad_token_id); last = (arange(T) * non_pad).argmax(-1); score = logits[b, last]

For each family it writes a tiny random-weight reward-model folder as transformers' save_pretrained would
(architectures [<Family>ForSequenceClassification], num_labels 1 via id2label/label2id, pad_token_id, float32):

    tests/Aha.Tests/Model/golden/reward_model/<family>/
        config.json  model.safetensors  expected.json   (rows: right-padded ids; scores: one float per row)

    /usr/bin/python3 tests/reference/reward_model_reference.py     # needs only torch (Debian python3-torch)
CI never runs this; it only reads the committed files.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import families_reference as ref  # noqa: E402  the shared pure-torch forward

OUT = os.path.join(HERE, "..", "Aha.Tests", "Model", "golden", "reward_model")

COMMON = dict(vocab_size=264, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, hidden_act="silu", rope_theta=10000.0,
              torch_dtype="float32", bos_token_id=256, eos_token_id=257, pad_token_id=258, tie_word_embeddings=False,
              num_labels=1, id2label={"0": "LABEL_0"}, label2id={"LABEL_0": 0})

FAMILIES = {
    "llama": dict(COMMON, architectures=["LlamaForSequenceClassification"], model_type="llama", attention_bias=False, mlp_bias=False),
    "qwen2": dict(COMMON, architectures=["Qwen2ForSequenceClassification"], model_type="qwen2"),
    "qwen3": dict(COMMON, architectures=["Qwen3ForSequenceClassification"], model_type="qwen3", head_dim=16, attention_bias=False),
}

PAD = 258
# Right-padded rows of different lengths, as a reward trainer batches prompt + completion; the last row is unpadded.
ROWS = [[256, 87, 104, 97, 116, 257], [256, 49, 43, 50, 61, 51, 257], [256, 72, 105, 33], [256, 10, 20, 30, 40, 50, 60, 70, 257]]


def scores(c, p, rows):
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [PAD] * (width - len(r)) for r in rows])
    last = (torch.arange(width) * (ids != c["pad_token_id"]).long()).argmax(-1)
    head = dict(p, **{"lm_head.weight": p["score.weight"]})  # the forward's head is a Linear(hidden, 1): the score at every position
    out = []
    for b in range(len(rows)):
        # Right padding under a causal mask never reaches a real token, so each row is computed on its own length.
        per_token = ref.forward(dict(c, tie_word_embeddings=False), head, ids[b, : last[b] + 1])[:, 0]
        out.append(per_token[last[b]].item())
    return ids.tolist(), out


def main():
    for seed, (family, config) in enumerate(FAMILIES.items()):
        folder = os.path.join(OUT, family)
        os.makedirs(folder, exist_ok=True)
        weights = {k: v.float() for k, v in ref.random_weights(dict(config), 100 + seed).items()}
        weights.pop("lm_head.weight", None)  # *ForSequenceClassification has no lm_head
        g = torch.Generator().manual_seed(200 + seed)
        weights["score.weight"] = torch.randn((1, config["hidden_size"]), generator=g) * 0.3
        ref.save_safetensors(os.path.join(folder, "model.safetensors"), weights)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        ids, values = scores(config, {k: v.float() for k, v in weights.items()}, ROWS)
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump({"pad_token_id": PAD, "rows": ids, "scores": values}, f, indent=1)
        print(family, ["%.6f" % v for v in values])


if __name__ == "__main__":
    main()
