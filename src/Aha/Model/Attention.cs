using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>Self-attention as a decoder layer sees it, whichever variant the config picks (Llama GQA or DeepSeek MLA).</summary>
internal abstract class Attention(string name) : nn.Module(name)
{
    /// <param name="x">(B, T, C)</param>
    /// <param name="cos">(B, 1, T, R) rotary table for this call's positions, R = <see cref="ModelConfig.RopeDim"/></param>
    /// <param name="sin">(B, 1, T, R) the signed sine table (first half negated) of <see cref="RotaryEmbedding.Lookup"/></param>
    /// <param name="mask">(B, 1, T, Tk) bool, true = may attend; null means plain causal (or full when T = 1)</param>
    /// <param name="cache">what earlier positions left; this call appends its own</param>
    public abstract Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache);

    public static Attention Create(ModelConfig config, int layer, Device? device) =>
        config.UsesMla ? new MlaAttention(config, layer, device) : new LlamaAttention(config, layer, device);
}
