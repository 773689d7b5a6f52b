#!/usr/bin/env python3
"""Independent PyTorch reference for LoRA adapters in PEFT's format, on the committed qwen2 family checkpoint.

Extends tests/reference/families_reference.py (its plain-PyTorch forward, not transformers or PEFT): a LoRA adapter
(r 4, alpha 8, on q_proj, v_proj, o_proj, gate_proj and down_proj, A and B both random so the term is not zero) is
written as PEFT writes one, and the logits of base + adapter are computed from PEFT's definition (peft/tuners/lora/
layer.py, Linear.forward): y = W x + b + (lora_alpha / r) * B (A x), here in float64 over the BF16-stored base weights,
then rounded to float32.

    tests/Aha.Tests/Model/golden/lora/
        adapter_config.json          PEFT's LoraConfig fields (peft_type LORA, task_type CAUSAL_LM, ...)
        adapter_model.safetensors    base_model.model.model.layers.<i>.<block>.<module>.lora_{A,B}.weight, F32
        expected.safetensors         prompt.<i> (I64), logits.<i> (F32, T x V) of base + adapter

    /usr/bin/python3 tests/reference/lora_reference.py     # needs only torch (Debian python3-torch)
CI never runs this; it only reads the committed files.
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

import families_reference as fam

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(fam.OUT, "qwen2")
OUT = os.path.join(HERE, "..", "Aha.Tests", "Model", "golden", "lora")
R, ALPHA = 4, 8.0
TARGETS = ["q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = bytearray(data[a:b])
        if info["dtype"] == "BF16":
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype={"F32": torch.float32, "I64": torch.int64}[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def main():
    torch.set_num_threads(1)
    c = fam.FAMILIES["qwen2"]
    weights = {}
    for shard in sorted(f for f in os.listdir(BASE) if f.startswith("model-")):
        weights.update(read_safetensors(os.path.join(BASE, shard)))
    g = torch.Generator().manual_seed(77)
    adapter = {}
    for layer in range(c["num_hidden_layers"]):
        for module in TARGETS:
            block = "mlp" if module in ("gate_proj", "up_proj", "down_proj") else "self_attn"
            out_features, in_features = weights[f"model.layers.{layer}.{block}.{module}.weight"].shape
            key = f"base_model.model.model.layers.{layer}.{block}.{module}"
            adapter[key + ".lora_A.weight"] = torch.randn(R, in_features, generator=g) * 0.1
            adapter[key + ".lora_B.weight"] = torch.randn(out_features, R, generator=g) * 0.1
    os.makedirs(OUT, exist_ok=True)
    fam.save_safetensors(os.path.join(OUT, "adapter_model.safetensors"), adapter)
    config = {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "families/qwen2", "bias": "none",
        "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layers_pattern": None,
        "layers_to_transform": None, "lora_alpha": ALPHA, "lora_dropout": 0.0, "modules_to_save": None, "peft_type": "LORA",
        "r": R, "rank_pattern": {}, "revision": None, "target_modules": TARGETS, "task_type": "CAUSAL_LM",
        "use_dora": False, "use_rslora": False,
    }
    with open(os.path.join(OUT, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    # PEFT's forward, y = W x + b + s * B(A x), is linear in x, so the effective weight W + s * B A gives it exactly; in
    # float64 the order of the sums does not matter at the 1e-4 tolerance the test uses.
    p = {n: w.double() for n, w in weights.items()}
    for key in [k for k in adapter if k.endswith(".lora_A.weight")]:
        module = key[len("base_model.model."):-len(".lora_A.weight")]
        a, b = adapter[key].double(), adapter[key.replace("lora_A", "lora_B")].double()
        p[module + ".weight"] = p[module + ".weight"] + (ALPHA / R) * (b @ a)
    expected = {}
    with torch.no_grad():
        for i, prompt in enumerate(fam.PROMPTS):
            ids = torch.tensor(prompt, dtype=torch.int64)
            expected[f"prompt.{i}"] = ids
            expected[f"logits.{i}"] = fam.forward(c, p, ids).float()
    fam.save_safetensors(os.path.join(OUT, "expected.safetensors"), expected)
    print(f"lora: {len(adapter)} adapter tensors, logits for {len(fam.PROMPTS)} prompts")


if __name__ == "__main__":
    main()
