using Aha.Model;

namespace Aha.Training;

/// <summary>
/// The settings of <c>aha demo</c>: the base model's shape and pretraining budget, the GRPO budget and the evaluation.
/// <see cref="Full"/> finishes within 15 minutes on 2 cores (about 7 measured), <see cref="Quick"/> in about 4.
/// </summary>
public sealed record DemoOptions
{
    public int HiddenSize { get; init; } = 128;
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 4;
    /// <summary>The base model's architecture, one of <see cref="Architectures.Names"/>: "llama" (dense) or a DeepSeek-V3-style variant of the same shape.</summary>
    public string Arch { get; init; } = "llama";
    public int PretrainSteps { get; init; } = 900;
    public int PretrainBatch { get; init; } = 32;
    public int SequenceLength { get; init; } = 128;
    public double PretrainLearningRate { get; init; } = 3e-3;
    public GrpoOptions Grpo { get; init; } = new() { Steps = 60, SaveEvery = 20 };
    /// <summary>Held-out problems scored greedily (pass@1).</summary>
    public int EvalProblems { get; init; } = 200;
    /// <summary>Held-out problems (the first of the greedy ones) sampled K times for pass@k and maj@k.</summary>
    public int SampledProblems { get; init; } = 100;
    public int Samples { get; init; } = 8;
    public long Seed { get; init; } = 42;

    public static DemoOptions Full { get; } = new();

    public static DemoOptions Quick { get; } = new()
    {
        // Fewer steps than this and the base model never learns column addition (450 left it at 0%: dev/LOG.md).
        PretrainSteps = 700,
        Grpo = new() { Steps = 15, SaveEvery = 15 },
        EvalProblems = 100,
        SampledProblems = 50,
        Samples = 4,
    };

    /// <summary>The base model to pretrain: a dense shape from <see cref="HiddenSize"/>, <see cref="Layers"/> and <see cref="Heads"/>, then <see cref="Arch"/>'s features.</summary>
    public ModelConfig BaseModelConfig()
    {
        var dense = new ModelConfig
        {
            HiddenSize = HiddenSize, NumHiddenLayers = Layers, NumAttentionHeads = Heads, NumKeyValueHeads = Heads,
            IntermediateSize = HiddenSize * 8 / 3 / 8 * 8, MaxPositionEmbeddings = 256,
        }.Validate();
        return Architectures.Apply(dense, Arch);
    }

    public DemoOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"demo: {message}"); }
        Require(Architectures.Names.Contains(Arch), $"arch '{Arch}' is not one of {string.Join(", ", Architectures.Names)}.");
        Require(PretrainSteps > 0, $"pretrain steps must be positive (got {PretrainSteps}).");
        Require(EvalProblems > 0, $"eval problems must be positive (got {EvalProblems}).");
        Require(SampledProblems >= 0 && SampledProblems <= EvalProblems, $"sampled problems must be in [0, {EvalProblems}] (got {SampledProblems}).");
        Require(Samples >= 2, $"samples per problem must be at least 2 for pass@k (got {Samples}).");
        Grpo.Validate();
        return this;
    }
}
