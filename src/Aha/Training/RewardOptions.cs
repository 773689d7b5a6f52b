namespace Aha.Training;

/// <summary>
/// Reward-model training settings (`aha rm`). Defaults follow TRL's RewardTrainer where they fit a CPU run (one epoch-ish,
/// AdamW, grad clip 1), with a learning rate scaled for a tiny model.
/// </summary>
public sealed record RewardOptions
{
    public int Steps { get; init; } = 100;
    /// <summary>Pairs per optimizer step (2 × this rows per forward).</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Longest prompt + completion in tokens; longer pairs lose the prompt's start first (TRL's keep_end).</summary>
    public int MaxLength { get; init; } = 256;
    public double LearningRate { get; init; } = 1e-4;
    public double WeightDecay { get; init; }
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Global gradient-norm clip; 0 disables clipping (the norm is still measured).</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Subtract each pair's margin (when the data gives one) inside the sigmoid.</summary>
    public bool UseMargin { get; init; }
    /// <summary>Held-out metrics every N steps (and after the last step); 0 = only at the end.</summary>
    public int EvalEvery { get; init; } = 25;
    public long Seed { get; init; } = 1;
    public int SaveEvery { get; init; } = 50;
    public int KeepLast { get; init; } = 2;
    public int MaxBadStepsInARow { get; init; } = 5;

    public RewardOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"rm: {message}"); }
        Require(Steps > 0, $"--steps must be positive (got {Steps}).");
        Require(BatchSize > 0, $"--batch-size must be positive (got {BatchSize}).");
        Require(MaxLength >= 2, $"--max-length must be at least 2 (got {MaxLength}).");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr must be positive (got {LearningRate}).");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), $"--weight-decay must be ≥ 0 (got {WeightDecay}).");
        Require(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"AdamW betas ({Beta1}, {Beta2}) must each be in [0, 1).");
        Require(MaxGradNorm >= 0 && !double.IsNaN(MaxGradNorm), $"--grad-clip must be 0 (off) or positive (got {MaxGradNorm}).");
        Require(EvalEvery >= 0, $"--eval-every must be ≥ 0 (got {EvalEvery}).");
        Require(SaveEvery >= 0, $"--save-every must be ≥ 0 (got {SaveEvery}).");
        Require(KeepLast >= 0, $"--keep-last must be ≥ 0, 0 keeping all (got {KeepLast}).");
        Require(MaxBadStepsInARow > 0, $"max bad steps in a row must be positive (got {MaxBadStepsInARow}).");
        return this;
    }
}
