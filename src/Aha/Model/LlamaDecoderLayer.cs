using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// Pre-norm transformer block: x + attn(norm(x)), then h + mlp(norm(h)). The config picks the parts: GQA or MLA attention,
/// a dense SwiGLU MLP or DeepSeekMoE (from layer first_k_dense_replace on); the state-dict names stay those of Hugging Face.
/// </summary>
internal sealed class LlamaDecoderLayer : nn.Module
{
    [ComponentName(Name = "self_attn")] Attention _attention;
    [ComponentName(Name = "mlp")] nn.Module<Tensor, Tensor> _mlp;
    [ComponentName(Name = "input_layernorm")] RmsNorm _inputNorm;
    [ComponentName(Name = "post_attention_layernorm")] RmsNorm _postAttentionNorm;

    public LlamaDecoderLayer(ModelConfig config, int layer, Device? device) : base(nameof(LlamaDecoderLayer))
    {
        _attention = Attention.Create(config, layer, device);
        _mlp = Mlp(config, layer, device);
        _inputNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        _postAttentionNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        RegisterComponents();
    }

    /// <summary>The attention block (LoRA attaches to the Llama/Qwen/Mistral kind).</summary>
    public Attention SelfAttention => _attention;
    /// <summary>The feed-forward block: a dense <see cref="LlamaMlp"/> or DeepSeekMoE.</summary>
    public nn.Module<Tensor, Tensor> FeedForward => _mlp;

    internal RmsNorm InputNorm => _inputNorm;
    internal RmsNorm PostAttentionNorm => _postAttentionNorm;

    /// <summary>The MoE block of this layer, if it has one.</summary>
    public DeepSeekMoe? Moe => _mlp as DeepSeekMoe;

    public Tensor forward(Tensor x /* (B, T, C) */, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, RouterLosses? losses = null)
    {
        using var scope = NewDisposeScope();
        var h = x + _attention.forward(_inputNorm.forward(x), cos, sin, mask, cache);
        return scope.MoveToOuter(h + Feed(_mlp, _postAttentionNorm.forward(h), losses));
    }

    /// <summary>Dense SwiGLU of width intermediate_size, or DeepSeekMoE when the config routes this layer.</summary>
    public static nn.Module<Tensor, Tensor> Mlp(ModelConfig config, int layer, Device? device) =>
        config.IsMoeLayer(layer) ? new DeepSeekMoe(config, device) : new LlamaMlp(config.HiddenSize, config.IntermediateSize, device, config.MlpBias);

    public static Tensor Feed(nn.Module<Tensor, Tensor> mlp, Tensor x, RouterLosses? losses) =>
        mlp is DeepSeekMoe moe ? moe.forward(x, losses) : mlp.forward(x);
}
