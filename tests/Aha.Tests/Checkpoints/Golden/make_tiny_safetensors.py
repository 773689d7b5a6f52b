#!/usr/bin/env python3
"""Regenerates tiny.safetensors, the bytes `safetensors.torch.save_file(t, path, metadata={"format": "pt"})` writes for
    t = {"a": torch.arange(4, dtype=torch.float32).reshape(2, 2),
         "b": torch.tensor(7, dtype=torch.int64),
         "c": torch.tensor([1.0, -2.5, 0.5], dtype=torch.bfloat16),
         "d": torch.zeros(0, 3, dtype=torch.float32)}
Standard library only, following huggingface/safetensors src/tensor.rs `prepare`: tensors sorted by descending dtype
(the Dtype enum order: ... BF16 < I32 < F32 < F64 < I64), then by name; compact JSON with __metadata__ first;
header padded with spaces to a multiple of 8. With torch and safetensors installed, check_with_torch() confirms it."""
import json
import struct

tensors = [  # name, dtype, shape, raw little-endian bytes
    ("b", "I64", [], struct.pack("<q", 7)),
    ("a", "F32", [2, 2], struct.pack("<4f", 0, 1, 2, 3)),
    ("d", "F32", [0, 3], b""),
    ("c", "BF16", [3], struct.pack("<3H", 0x3F80, 0xC020, 0x3F00)),
]
header = {"__metadata__": {"format": "pt"}}
offset = 0
for name, dtype, shape, data in tensors:
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
    offset += len(data)
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open("tiny.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(d for *_, d in tensors))


def check_with_torch():
    import torch
    from safetensors.torch import save
    t = {"a": torch.arange(4, dtype=torch.float32).reshape(2, 2), "b": torch.tensor(7, dtype=torch.int64),
         "c": torch.tensor([1.0, -2.5, 0.5], dtype=torch.bfloat16), "d": torch.zeros(0, 3, dtype=torch.float32)}
    assert save(t, metadata={"format": "pt"}) == open("tiny.safetensors", "rb").read()


if __name__ == "__main__":
    try:
        check_with_torch()
        print("identical to safetensors.torch")
    except ImportError:
        print("torch/safetensors not installed: wrote the file from the format description only")
