#!/usr/bin/env python3
"""Independent PyTorch reference for the model families Aha reads from config.json: qwen2, qwen3, llama with Llama 3
RoPE scaling, and mistral.

Written in plain PyTorch from the formulas of transformers' modeling_llama.py, modeling_qwen2.py, modeling_qwen3.py,
modeling_mistral.py and modeling_rope_utils.py (_compute_llama3_parameters), not by importing transformers, so a shared bug cannot hide in a
shared import. For each family it writes a tiny random-weight checkpoint folder exactly as the Hub ships one:

    tests/Aha.Tests/Model/golden/families/<family>/
        config.json                          transformers' fields for the family, torch_dtype bfloat16
        model-00001-of-00002.safetensors     BF16 weights, sharded over two files ...
        model-00002-of-00002.safetensors
        model.safetensors.index.json         ... with the weight_map that names each tensor's file
        expected.safetensors                 prompt.<i> (I64 ids), logits.<i> (F32, T x V), greedy.<i> (I64, new ids)

The reference computes in float32 over the BF16-stored weights (each upcast once), as Aha does on CPU by default.
Prompts are token ids below vocab_size (512); a real tokenizer is paired with these models by a separate test.
Greedy continuations re-run the whole sequence each step (no cache), so Aha's cached decoding is checked against it.

    /usr/bin/python3 tests/reference/families_reference.py     # needs only torch (Debian python3-torch)
CI never runs this; it only reads the committed files.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Aha.Tests", "Model", "golden", "families")

COMMON = dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6, hidden_act="silu",
              torch_dtype="bfloat16", initializer_range=0.02, use_cache=True, transformers_version="4.51.0")

FAMILIES = {
    # Qwen2.5-0.5B's choices: q/k/v biases (always, no o bias), tied head, sliding window present but off.
    "qwen2": dict(COMMON, architectures=["Qwen2ForCausalLM"], model_type="qwen2", rope_theta=1000000.0, rope_scaling=None,
                  tie_word_embeddings=True, bos_token_id=500, eos_token_id=501, use_sliding_window=False,
                  sliding_window=128, max_window_layers=2, attention_dropout=0.0),
    # Qwen3-0.6B's choices: explicit head_dim (32, not 64/4), per-head q/k RMSNorm, no biases, tied head.
    "qwen3": dict(COMMON, architectures=["Qwen3ForCausalLM"], model_type="qwen3", rope_theta=1000000.0, rope_scaling=None,
                  head_dim=32, attention_bias=False, tie_word_embeddings=True, bos_token_id=500, eos_token_id=501,
                  use_sliding_window=False, sliding_window=None, max_window_layers=2, attention_dropout=0.0),
    # Llama 3.2's choices with a small original context, so the llama3 scaling changes angles at short positions;
    # an explicit head_dim (24, not 64/4) and an untied head.
    "llama": dict(COMMON, architectures=["LlamaForCausalLM"], model_type="llama", rope_theta=500000.0,
                  rope_scaling=dict(factor=8.0, high_freq_factor=4.0, low_freq_factor=1.0,
                                    original_max_position_embeddings=16, rope_type="llama3"),
                  head_dim=24, attention_bias=False, mlp_bias=False, tie_word_embeddings=False, bos_token_id=500,
                  eos_token_id=[501, 502], pad_token_id=None, pretraining_tp=1, attention_dropout=0.0),
    # Mistral 7B v0.3's choices: no biases, no sliding window (null), an explicit head_dim (8, not 64/4), untied head.
    "mistral": dict(COMMON, architectures=["MistralForCausalLM"], model_type="mistral", rope_theta=1000000.0,
                    head_dim=8, sliding_window=None, tie_word_embeddings=False, bos_token_id=500, eos_token_id=501,
                    attention_dropout=0.0),
}

PROMPTS = [[500, 17, 230, 41], [500, 3, 99, 401, 256, 7, 7, 310, 88, 12, 450], list(range(60, 480, 17))]
NEW_TOKENS = 8


def head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def shapes(c):
    h, i, v, d = c["hidden_size"], c["intermediate_size"], c["vocab_size"], head_dim(c)
    q, kv = c["num_attention_heads"] * d, c["num_key_value_heads"] * d
    family = c["model_type"]
    qkv_bias = family == "qwen2" or c.get("attention_bias", False)
    o_bias = family != "qwen2" and c.get("attention_bias", False)
    mlp_bias = family == "llama" and c.get("mlp_bias", False)
    out = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        out[p + "self_attn.q_proj.weight"] = (q, h)
        out[p + "self_attn.k_proj.weight"] = (kv, h)
        out[p + "self_attn.v_proj.weight"] = (kv, h)
        out[p + "self_attn.o_proj.weight"] = (h, q)
        if qkv_bias:
            out[p + "self_attn.q_proj.bias"] = (q,)
            out[p + "self_attn.k_proj.bias"] = (kv,)
            out[p + "self_attn.v_proj.bias"] = (kv,)
        if o_bias:
            out[p + "self_attn.o_proj.bias"] = (h,)
        if family == "qwen3":
            out[p + "self_attn.q_norm.weight"] = (d,)
            out[p + "self_attn.k_norm.weight"] = (d,)
        for name, shape in (("gate_proj", (i, h)), ("up_proj", (i, h)), ("down_proj", (h, i))):
            out[p + f"mlp.{name}.weight"] = shape
            if mlp_bias:
                out[p + f"mlp.{name}.bias"] = (shape[0],)
        out[p + "input_layernorm.weight"] = (h,)
        out[p + "post_attention_layernorm.weight"] = (h,)
    if not c["tie_word_embeddings"]:
        out["lm_head.weight"] = (v, h)
    return out


def random_weights(c, seed):
    g = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in shapes(c).items():
        w = torch.randn(shape, generator=g) * (0.1 if name.endswith("norm.weight") else 0.08)
        if name.endswith("norm.weight"):
            w = w + 1.0  # norms near one but not one, so a misplaced norm shows
        params[name] = w.to(torch.bfloat16)  # the checkpoint's dtype; computed below in float32
    return params


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def inv_freq(c):
    d = head_dim(c)
    f = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    s = c.get("rope_scaling")
    if not s:
        return f
    # Llama 3: wavelengths beyond original/low_freq_factor slowed by factor, below original/high_freq_factor kept,
    # a linear blend in 1/wavelength between.
    old = s["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / s["low_freq_factor"], old / s["high_freq_factor"]
    wavelen = 2 * math.pi / f
    scaled = torch.where(wavelen > low_wavelen, f / s["factor"], f)
    smooth = (old / wavelen - s["low_freq_factor"]) / (s["high_freq_factor"] - s["low_freq_factor"])
    blended = (1 - smooth) * scaled / s["factor"] + smooth * scaled
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, blended, scaled)


def rotate(x, cos, sin):  # x (H, T, D)
    d = x.shape[-1]
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def forward(c, p, ids):
    """Logits (T, V) for one unpadded prompt."""
    t = ids.shape[0]
    nh, nkv, d, eps = c["num_attention_heads"], c["num_key_value_heads"], head_dim(c), c["rms_norm_eps"]
    freqs = torch.arange(t).float()[:, None] * inv_freq(c)[None, :]       # (T, D/2)
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos(), emb.sin()
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    x = p["model.embed_tokens.weight"][ids]
    for l in range(c["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        h = rms_norm(x, p[pre + "input_layernorm.weight"], eps)

        def proj(name, heads):
            y = F.linear(h, p[pre + f"self_attn.{name}.weight"], p.get(pre + f"self_attn.{name}.bias"))
            return y.view(t, heads, d)

        q, k, v = proj("q_proj", nh), proj("k_proj", nkv), proj("v_proj", nkv)
        if c["model_type"] == "qwen3":  # per-head RMSNorm over head_dim before RoPE
            q = rms_norm(q, p[pre + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, p[pre + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # (H, T, D)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        scores = scores.masked_fill(~causal, float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(0, 1).reshape(t, nh * d)
        x = x + F.linear(y, p[pre + "self_attn.o_proj.weight"], p.get(pre + "self_attn.o_proj.bias"))
        h = rms_norm(x, p[pre + "post_attention_layernorm.weight"], eps)
        gate = F.linear(h, p[pre + "mlp.gate_proj.weight"], p.get(pre + "mlp.gate_proj.bias"))
        up = F.linear(h, p[pre + "mlp.up_proj.weight"], p.get(pre + "mlp.up_proj.bias"))
        x = x + F.linear(F.silu(gate) * up, p[pre + "mlp.down_proj.weight"], p.get(pre + "mlp.down_proj.bias"))
    x = rms_norm(x, p["model.norm.weight"], eps)
    head = p["model.embed_tokens.weight"] if c["tie_word_embeddings"] else p["lm_head.weight"]
    return F.linear(x, head)


def raw(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return "BF16", t.view(torch.int16).numpy().tobytes()
    return {torch.float32: "F32", torch.int64: "I64"}[t.dtype], t.numpy().tobytes()


def save_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {"__metadata__": metadata or {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        dtype, data = raw(tensors[name])
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def run(family, seed):
    c = FAMILIES[family]
    folder = os.path.join(OUT, family)
    os.makedirs(folder, exist_ok=True)
    weights = random_weights(c, seed)
    # Two shards, split as the Hub splits by size: the embedding and layer 0 first, the rest second.
    first = {n: w for n, w in weights.items() if n.startswith("model.embed_tokens") or n.startswith("model.layers.0.")}
    second = {n: w for n, w in weights.items() if n not in first}
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    for name, part in zip(names, (first, second)):
        save_safetensors(os.path.join(folder, name), part)
    index = {"metadata": {"total_size": sum(w.numel() * 2 for w in weights.values())},
             "weight_map": {n: names[0] if n in first else names[1] for n in sorted(weights)}}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")

    p = {n: w.float() for n, w in weights.items()}
    expected = {}
    with torch.no_grad():
        for i, prompt in enumerate(PROMPTS):
            ids = torch.tensor(prompt, dtype=torch.int64)
            expected[f"prompt.{i}"] = ids
            expected[f"logits.{i}"] = forward(c, p, ids)
            seq = ids
            for _ in range(NEW_TOKENS):
                seq = torch.cat([seq, forward(c, p, seq)[-1].argmax().reshape(1)])
            expected[f"greedy.{i}"] = seq[len(prompt):]
    save_safetensors(os.path.join(folder, "expected.safetensors"), expected)
    print(f"{family}: {len(weights)} tensors, greedy {[expected[f'greedy.{i}'].tolist() for i in range(len(PROMPTS))]}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for k, family in enumerate(FAMILIES):
        run(family, seed=1000 + k)
