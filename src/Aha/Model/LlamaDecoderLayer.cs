using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then h + mlp(norm(h)).</summary>
internal sealed class LlamaDecoderLayer : nn.Module
{
    [ComponentName(Name = "self_attn")] LlamaAttention _attention;
    [ComponentName(Name = "mlp")] LlamaMlp _mlp;
    [ComponentName(Name = "input_layernorm")] RmsNorm _inputNorm;
    [ComponentName(Name = "post_attention_layernorm")] RmsNorm _postAttentionNorm;

    public LlamaDecoderLayer(ModelConfig config, int layer, Device? device) : base(nameof(LlamaDecoderLayer))
    {
        _attention = new LlamaAttention(config, layer, device);
        _mlp = new LlamaMlp(config, device);
        _inputNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        _postAttentionNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        RegisterComponents();
    }

    public Tensor forward(Tensor x /* (B, T, C) */, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = x + _attention.forward(_inputNorm.forward(x), cos, sin, mask, cache);
        return scope.MoveToOuter(h + _mlp.forward(_postAttentionNorm.forward(h)));
    }
}
