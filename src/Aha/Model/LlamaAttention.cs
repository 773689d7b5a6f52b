using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// Causal grouped-query self-attention with rotary embeddings: Hugging Face <c>LlamaAttention</c>, and by config
/// <c>Qwen2Attention</c> (q/k/v biases), <c>Qwen3Attention</c> (RMSNorm over each head's q and k before RoPE) and
/// <c>MistralAttention</c>.
/// </summary>
internal sealed class LlamaAttention : Attention
{
    [ComponentName(Name = "q_proj")] Linear _q;
    [ComponentName(Name = "k_proj")] Linear _k;
    [ComponentName(Name = "v_proj")] Linear _v;
    [ComponentName(Name = "o_proj")] Linear _o;
    [ComponentName(Name = "q_norm")] RmsNorm? _qNorm;
    [ComponentName(Name = "k_norm")] RmsNorm? _kNorm;
    readonly int _heads, _kvHeads, _headDim, _layer;

    public LlamaAttention(ModelConfig config, int layer, Device? device) : base(nameof(LlamaAttention))
    {
        (_heads, _kvHeads, _headDim, _layer) = (config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim, layer);
        _q = nn.Linear(config.HiddenSize, _heads * _headDim, hasBias: config.QkvBias, device: device);
        _k = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.QkvBias, device: device);
        _v = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.QkvBias, device: device);
        _o = nn.Linear(_heads * _headDim, config.HiddenSize, hasBias: config.OutputBias, device: device);
        if (config.UsesQkNorm)
        {
            _qNorm = new RmsNorm(_headDim, config.RmsNormEps, device);
            _kNorm = new RmsNorm(_headDim, config.RmsNormEps, device);
        }
        RegisterComponents();
    }

    /// <summary>This layer's LoRA adapters, if a LoRA run attached them (not part of the model's state dict).</summary>
    public LoraLayer? Lora { get; set; }

    /// <summary>The four projections by Hugging Face module name: what LoRA can target and merge into.</summary>
    public IEnumerable<(string Name, Linear Layer)> Projections => [("q_proj", _q), ("k_proj", _k), ("v_proj", _v), ("o_proj", _o)];

    /// <summary>The weights the fused decode path reads.</summary>
    internal (Linear Q, Linear K, Linear V, Linear O, RmsNorm? QNorm, RmsNorm? KNorm) Parts => (_q, _k, _v, _o, _qNorm, _kNorm);

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var qkv = SkinnyLinear.Fused(x, _q, _k, _v);                            // (B, T, (H + 2·Hkv)·D)
        // LoRA adds its low-rank terms after the base projections, so the fused (and decode-kernel) base path stays as it is.
        if (Lora?.FusedDelta(x, training, ("q_proj", _heads * _headDim), ("k_proj", _kvHeads * _headDim), ("v_proj", _kvHeads * _headDim)) is { } delta)
            qkv = qkv + delta.to(qkv.dtype);
        qkv = qkv.view(b, t, _heads + 2 * _kvHeads, _headDim);                  // (B, T, H + 2·Hkv, D)
        var qk = qkv.narrow(2, 0, _heads + _kvHeads);                           // (B, T, H + Hkv, D)
        if (_qNorm is not null && _kNorm is not null) // Qwen3: each head normed over D before RoPE, queries and keys by their own weights
            qk = cat([_qNorm.forward(qk.narrow(2, 0, _heads)), _kNorm.forward(qk.narrow(2, _heads, _kvHeads))], 2);
        // Rotate queries and keys in one pass, heads second so that (B, T, 1, D) tables broadcast over them.
        qk = RotaryEmbedding.Apply(qk, cos.transpose(1, 2), sin.transpose(1, 2));
        var q = qk.narrow(2, 0, _heads).transpose(1, 2);                         // (B, H, T, D)
        var k = qk.narrow(2, _heads, _kvHeads).transpose(1, 2);                  // (B, Hkv, T, D)
        var v = qkv.narrow(2, _heads + _kvHeads, _kvHeads).transpose(1, 2);      // (B, Hkv, T, D)
        if (cache is not null) (k, v) = cache.Append(_layer, k, v);              // (B, Hkv, Tk, D)
        k = RepeatKv(k);                                                         // (B, H, Tk, D)
        v = RepeatKv(v);
        var y = nn.functional.scaled_dot_product_attention(q, k, v, mask, is_casual: mask is null && t > 1); // (B, H, T, D)
        y = y.transpose(1, 2).reshape(b, t, _heads * _headDim);                 // (B, T, C)
        var output = SkinnyLinear.Forward(_o, y);
        return scope.MoveToOuter(Lora is null ? output : Lora.Apply("o_proj", y, output, training));
    }

    // TorchSharp's scaled_dot_product_attention has no enable_gqa, so each key/value head is shared by copying.
    Tensor RepeatKv(Tensor kv /* (B, Hkv, Tk, D) */)
    {
        if (_heads == _kvHeads) return kv;
        long b = kv.shape[0], tk = kv.shape[2];
        return kv.unsqueeze(2).expand(b, _kvHeads, _heads / _kvHeads, tk, _headDim).reshape(b, _heads, tk, _headDim);
    }
}
