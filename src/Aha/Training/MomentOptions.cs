using Aha.Data;
using Aha.Tasks.Countdown;

namespace Aha.Training;

/// <summary>
/// The settings of <c>aha demo --task signs</c>: the base model and budgets of <see cref="DemoOptions"/> (same model
/// shape and pretraining steps as <c>aha demo</c>), the sign puzzles, the retry corpus, and the held-out curve measured
/// during each GRPO run. Three GRPO runs start from the same base: verifier (accuracy + format), format only, random.
/// </summary>
public sealed record MomentOptions
{
    public DemoOptions Demo { get; init; } = DemoOptions.Full with
    {
        // Retry traces of four tries run to ~150 bytes after a ~55-byte prompt: 160 new tokens, and pretraining on
        // 256-token windows (same tokens per step as aha demo) so every position generation uses was trained.
        SequenceLength = 256,
        PretrainBatch = 16,
        Grpo = new GrpoOptions { Steps = 40, MaxCompletionTokens = 160, SaveEvery = 0 },
    };
    public SignsOptions Task { get; init; } = new();
    public RetryCorpusOptions Corpus { get; init; } = new();
    /// <summary>Held-out greedy evaluation every N GRPO steps (and at step 0, the base), for the curves.</summary>
    public int CurveEvery { get; init; } = 10;
    /// <summary>Held-out problems (the first of the evaluation's) in each curve point.</summary>
    public int CurveProblems { get; init; } = 100;
    /// <summary>A pretrained base (a checkpoint folder, e.g. an earlier run's <c>pretrain/</c>) to start from instead of pretraining; null pretrains.</summary>
    public string? BaseModel { get; init; }
    /// <summary>The GRPO runs to make, in order: any of verifier, format, random (none: pretrain and measure the base only).</summary>
    public IReadOnlyList<string> Arms { get; init; } = ["verifier", "format", "random"];

    public static IReadOnlyList<string> ArmNames { get; } = ["verifier", "format", "random"];

    public MomentOptions Validate()
    {
        Demo.Validate();
        Task.Validate();
        Corpus.Validate();
        if (CurveEvery < 1) throw new ArgumentException($"demo: curve every must be at least 1 step (got {CurveEvery}).");
        if (CurveProblems < 1 || CurveProblems > Demo.EvalProblems) throw new ArgumentException($"demo: curve problems must be in [1, {Demo.EvalProblems}] (got {CurveProblems}).");
        if (Arms.Any(a => !ArmNames.Contains(a)) || Arms.Distinct().Count() != Arms.Count)
            throw new ArgumentException($"demo: arms must be distinct names from {string.Join(", ", ArmNames)} (got {string.Join(", ", Arms)}).");
        return this;
    }
}
