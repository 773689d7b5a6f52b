using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>Tiny configurations and the RNG-free weight formula shared with tests/reference/llama_reference.py.</summary>
static class TinyModels
{
    /// <summary>2 layers, hidden 32, GQA 4/2, vocab 96 — the golden files' shape.</summary>
    public static ModelConfig Config(bool tied = false, bool bias = false) => new ModelConfig
    {
        VocabSize = 96, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4,
        NumKeyValueHeads = 2, MaxPositionEmbeddings = 64, BosTokenId = 1, EosTokenId = 2, PadTokenId = 0,
        TieWordEmbeddings = tied, AttentionBias = bias,
    }.Validate();

    /// <summary>
    /// The tiny config with DeepSeek-V3 features switched on by name: "llama" (none), "mla", "mla_plain_q" (no q_lora_rank),
    /// "moe", "mtp", "v3" (all three; layer 0 dense, layer 1 and the MTP layer routed).
    /// </summary>
    public static ModelConfig Variant(string name, bool tied = false)
    {
        var config = Config(tied);
        bool all = name == "v3";
        if (all || name.StartsWith("mla", StringComparison.Ordinal))
            config = config with { KvLoraRank = 12, QkRopeHeadDim = 4, QkNopeHeadDim = 8, VHeadDim = 6, QLoraRank = name == "mla_plain_q" ? null : 20 };
        if (all || name == "moe")
            config = config with { NRoutedExperts = 4, NumExpertsPerTok = 2, MoeIntermediateSize = 16, NSharedExperts = 1, FirstKDenseReplace = 1, RoutedScalingFactor = 1.5 };
        if (all || name == "mtp") config = config with { NumNextnPredictLayers = 1 };
        return config.Validate();
    }

    public static readonly TheoryData<string> Variants = new() { "llama", "mla", "mla_plain_q", "moe", "mtp", "v3" };

    /// <summary>Parameter k of the ordinally sorted names = sin(arange(n)·0.37 + k)·0.1 (+1 for norms), as in the reference script.</summary>
    public static LlamaModel WithFormulaWeights(ModelConfig config)
    {
        var model = new LlamaModel(config);
        using var noGrad = no_grad();
        var parameters = model.named_parameters().OrderBy(p => p.name, StringComparer.Ordinal).ToList();
        for (int k = 0; k < parameters.Count; k++)
        {
            var (name, p) = parameters[k];
            bool norm = name.EndsWith("norm.weight", StringComparison.Ordinal);
            var values = new float[p.numel()];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(Math.Sin(i * 0.37 + k) * 0.1 + (norm ? 1.0 : 0.0));
            using var source = tensor(values, p.shape);
            p.copy_(source);
        }
        return model;
    }

    /// <summary>A randomly initialised model (HF init) from a fixed seed, for generation tests.</summary>
    public static LlamaModel Random(ModelConfig config, long seed = 1234)
    {
        manual_seed(seed);
        var model = new LlamaModel(config);
        // HF's std 0.02 gives near-uniform next-token distributions; sharper weights make greedy paths and sampling differ visibly.
        using var noGrad = no_grad();
        foreach (var p in model.parameters()) if (p.dim() == 2) p.mul_(10);
        return model;
    }
}
