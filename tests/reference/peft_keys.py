#!/usr/bin/env python3
"""The adapter_model.safetensors keys and shapes PEFT writes for a LoRA on a Llama-layout causal LM, derived from PEFT's
source rules (not from Aha), for tests/Aha.Tests/Model/approved/lora_peft_keys.txt (checked by
LoraTests.Adapter_keys_are_those_peft_writes).

Debian has torch (python3-torch) but not peft or transformers, so this builds the same nn.Module tree they build and
applies PEFT's naming rules, cited from huggingface/peft at 5d602fdbff04c33c1c4de55cda9d4ae1d7cb7e40:

- peft_model.py:176       PeftModel.base_model = LoraModel(model, ...), and tuners_utils.py:310 LoraModel.model = model:
                          every key of the wrapped causal LM gets the prefix "base_model.model.".
- tuners_utils.py:2293    check_target_module_exists: a module is targeted when its name equals a target or ends
                          with "." + target (a list of target_modules).
- tuners_utils.py:1214    _replace_module puts the LoRA layer where the targeted nn.Linear was, the original under
                          "base_layer".
- lora/layer.py:134-135   lora_A = nn.ModuleDict(), lora_B = nn.ModuleDict(), keyed by adapter name ("default");
- lora/layer.py:263-264   lora_A[name] = nn.Linear(in_features, r, bias=False); lora_B[name] = nn.Linear(r, out_features, bias=lora_bias).
- tuners_utils.py:1673    _get_tuner_state_dict_key_prefixes: what is saved is everything on a tuner layer except base_layer
                          (lora_dropout holds no tensors; bias "none" adds none, tuners_utils.py:1502).
- tuners_utils.py:1652    _remove_adapter_name_from_state_dict_key drops ".default" before the last component.

The base module tree is transformers' LlamaForCausalLM/Qwen2ForCausalLM (model.embed_tokens, model.layers.N.self_attn.
{q,k,v,o}_proj, model.layers.N.mlp.{gate,up,down}_proj, norms, lm_head) at the tiny test shape (TinyModels.Config():
hidden 32, 4 heads, 2 KV heads, intermediate 64, 2 layers), r 4 on all seven projections.

    /usr/bin/python3 tests/reference/peft_keys.py > tests/Aha.Tests/Model/approved/lora_peft_keys.txt
"""
import re

import torch.nn as nn

HIDDEN, HEADS, KV_HEADS, INTERMEDIATE, LAYERS, VOCAB, R = 32, 4, 2, 64, 2, 96, 4
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ADAPTER = "default"


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        d = HIDDEN // HEADS
        self.q_proj = nn.Linear(HIDDEN, HEADS * d, bias=False)
        self.k_proj = nn.Linear(HIDDEN, KV_HEADS * d, bias=False)
        self.v_proj = nn.Linear(HIDDEN, KV_HEADS * d, bias=False)
        self.o_proj = nn.Linear(HEADS * d, HIDDEN, bias=False)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate_proj = nn.Linear(HIDDEN, INTERMEDIATE, bias=False)
        self.up_proj = nn.Linear(HIDDEN, INTERMEDIATE, bias=False)
        self.down_proj = nn.Linear(INTERMEDIATE, HIDDEN, bias=False)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = Attention()
        self.mlp = Mlp()
        self.input_layernorm = nn.LayerNorm(HIDDEN)
        self.post_attention_layernorm = nn.LayerNorm(HIDDEN)


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, HIDDEN)
        self.layers = nn.ModuleList([Layer() for _ in range(LAYERS)])
        self.norm = nn.LayerNorm(HIDDEN)


class CausalLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = Backbone()
        self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)


class LoraLinear(nn.Module):
    """lora/layer.py's Linear as far as the state dict sees it."""

    def __init__(self, base: nn.Linear):
        super().__init__()
        self.base_layer = base
        self.lora_dropout = nn.ModuleDict({ADAPTER: nn.Identity()})
        self.lora_A = nn.ModuleDict({ADAPTER: nn.Linear(base.in_features, R, bias=False)})
        self.lora_B = nn.ModuleDict({ADAPTER: nn.Linear(R, base.out_features, bias=False)})


def targeted(name):  # check_target_module_exists for a list
    return name in TARGETS or any(name.endswith("." + t) for t in TARGETS)


def remove_adapter_name(key):  # _remove_adapter_name_from_state_dict_key
    if key.endswith("." + ADAPTER):
        return key[: -len("." + ADAPTER)]
    key, _, suffix = key.rpartition(".")
    return re.sub(re.escape("." + ADAPTER) + "$", "", key) + "." + suffix


class Wrapper(nn.Module):  # PeftModel.base_model (LoraModel).model
    def __init__(self, model):
        super().__init__()
        self.model = model


def main():
    lm = CausalLM()
    tuner_layers = []
    for name, module in list(lm.named_modules()):
        if isinstance(module, nn.Linear) and targeted(name):
            parent_name, _, child = name.rpartition(".")
            setattr(lm.get_submodule(parent_name), child, LoraLinear(module))
            tuner_layers.append(name)
    peft = nn.Module()
    peft.base_model = Wrapper(lm)
    prefixes = [f"base_model.model.{n}.{attr}" for n in tuner_layers for attr in ("lora_A", "lora_B", "lora_dropout")]
    for key, tensor in peft.state_dict().items():
        if any(key.startswith(p + ".") for p in prefixes):
            print(f"{remove_adapter_name(key)} [{', '.join(str(s) for s in tensor.shape)}]")


if __name__ == "__main__":
    main()
