using Aha.Tasks;

namespace Aha.Eval;

/// <summary>
/// How <see cref="ModelEvaluator"/> puts problems to a model. One sample is greedy pass@1; more samples follow the
/// DeepSeek-R1 protocol (temperature 0.6, top-p 0.95) unless <see cref="Temperature"/> or <see cref="TopP"/> say otherwise.
/// </summary>
public sealed record EvalOptions
{
    /// <summary>
    /// Seed stride between problems: sample s of problem p uses <c>Seed + p · 1_009 + s</c>, so every (problem, sample)
    /// has its own seed as long as there are fewer samples than the stride.
    /// </summary>
    public const int ProblemSeedStride = PromptSpec.PromptSeedStride;

    /// <summary>Prompt template; Short by default because it fits a tiny model's context (R1Zero's system text alone is ~400 bytes).</summary>
    public PromptStyle PromptStyle { get; init; } = PromptStyle.Short;

    /// <summary>Completions per problem (K of pass@k and maj@k).</summary>
    public int Samples { get; init; } = 1;

    /// <summary>Softmax temperature; null: 0 (greedy) for one sample, 0.6 for more.</summary>
    public double? Temperature { get; init; }

    /// <summary>Nucleus mass; null: 1 for one sample, 0.95 for more.</summary>
    public double? TopP { get; init; }

    /// <summary>Longest completion in tokens; a completion that reaches it is counted as truncated.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Rows decoded together. Results do not depend on it (each row has its own seed); only speed and memory do.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Base seed of the per-(problem, sample) seeds; irrelevant under greedy decoding.</summary>
    public long Seed { get; init; }

    /// <summary>The k of pass@k and maj@k; null: 1, 2, 4, … up to <see cref="Samples"/>.</summary>
    public IReadOnlyList<int>? Ks { get; init; }

    /// <summary>The sampling actually used, with the protocol defaults filled in; recorded in the report's summary.</summary>
    public SamplingSettings Sampling
    {
        get
        {
            var defaults = SamplingSettings.For(Samples, MaxNewTokens);
            return defaults with { Temperature = Temperature ?? defaults.Temperature, TopP = TopP ?? defaults.TopP };
        }
    }

    /// <summary>Throws with a message naming the field and the fix when a value is out of range.</summary>
    public EvalOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"eval options: {message}"); }
        Require(Samples is >= 1 and < ProblemSeedStride, $"Samples must be in [1, {ProblemSeedStride - 1}] (more would give two problems the same seeds), got {Samples}.");
        Require(Temperature is null || (Temperature >= 0 && double.IsFinite(Temperature.Value)), $"Temperature must be ≥ 0 (0 = greedy), got {Temperature}.");
        Require(TopP is null || (TopP > 0 && TopP <= 1), $"TopP must be in (0, 1] (1 = off), got {TopP}.");
        Require(MaxNewTokens > 0, $"MaxNewTokens must be positive, got {MaxNewTokens}.");
        Require(BatchSize > 0, $"BatchSize must be positive, got {BatchSize}.");
        if (Ks is not null)
            foreach (var k in Ks)
                Require(k >= 1 && k <= Samples, $"k = {k} needs {k} samples per problem, but Samples is {Samples}; lower k or raise Samples.");
        return this;
    }
}
