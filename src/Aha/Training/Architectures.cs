using Aha.Model;

namespace Aha.Training;

/// <summary>
/// <c>--arch</c>: turns a dense Llama shape into a DeepSeek-V3-style variant with about the same active parameters per token,
/// so variants can be compared at equal compute.
/// </summary>
/// <remarks>
/// How the match is made, from the dense model's width C, heads H, head dim D = C/H and MLP width F:
/// <list type="bullet">
/// <item>MLA: per-head query/key D (no-position part) + D/2 (decoupled RoPE), values D, query latent C/2, KV latent d_c = C/2.
/// Its projections then hold about the 4·C² weights of dense attention (within a few percent), while the cache holds
/// d_c + D/2 numbers per token and layer instead of 2·C.</item>
/// <item>MoE: one shared expert plus the top-2 of 8 routed experts, each of width F/3, so a token passes through an MLP
/// of width F as in the dense model; the first layer stays dense (DeepSeek-V3 keeps its first 3 of 61). Routed experts
/// make the total about 3× the dense MLP weights; the router adds 8·C per MoE layer to the active count.</item>
/// <item>v3: both, plus one multi-token-prediction module (trained, dropped at inference, so not active).</item>
/// </list>
/// </remarks>
public static class Architectures
{
    /// <summary>The <c>--arch</c> names: dense first.</summary>
    public static IReadOnlyList<string> Names { get; } = ["llama", "mla", "moe", "v3"];

    /// <summary>Routed experts per MoE layer and how many each token uses.</summary>
    public const int RoutedExperts = 8, ExpertsPerToken = 2;

    /// <summary><paramref name="dense"/> with the features of <paramref name="arch"/> switched on; "llama" returns it unchanged.</summary>
    public static ModelConfig Apply(ModelConfig dense, string arch)
    {
        if (dense.IsDeepSeekV3)
            throw new ArgumentException("--arch: the base shape must be a dense Llama config (no MLA, MoE or MTP fields set).");
        var config = arch switch
        {
            "llama" => dense,
            "mla" => WithMla(dense),
            "moe" => WithMoe(dense),
            "v3" => WithMoe(WithMla(dense)) with { NumNextnPredictLayers = 1 },
            _ => throw new ArgumentException($"--arch '{arch}': expected one of {string.Join(", ", Names)}."),
        };
        return config.Validate();
    }

    /// <summary>A one-line description for logs and reports.</summary>
    public static string Describe(string arch) => arch switch
    {
        "llama" => "dense Llama",
        "mla" => "Multi-head Latent Attention",
        "moe" => $"DeepSeekMoE (1 shared + top-{ExpertsPerToken} of {RoutedExperts} routed)",
        "v3" => "DeepSeek-V3-style: MLA + MoE + MTP",
        _ => arch,
    };

    static ModelConfig WithMla(ModelConfig c)
    {
        int d = c.HeadDim, half = Math.Max(2, d / 2 / 2 * 2); // RoPE halves are rotated, so d_R stays even
        return c with
        {
            KvLoraRank = Math.Max(2, c.HiddenSize / 2), QLoraRank = Math.Max(2, c.HiddenSize / 2),
            QkNopeHeadDim = d, QkRopeHeadDim = half, VHeadDim = d, NumKeyValueHeads = c.NumAttentionHeads,
        };
    }

    static ModelConfig WithMoe(ModelConfig c) => c with
    {
        NRoutedExperts = RoutedExperts, NumExpertsPerTok = ExpertsPerToken, NSharedExperts = 1,
        MoeIntermediateSize = Math.Max(1, (int)Math.Round(c.IntermediateSize / (1.0 + ExpertsPerToken))),
        FirstKDenseReplace = Math.Min(1, c.NumHiddenLayers - 1),
    };
}
