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
