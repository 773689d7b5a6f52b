namespace Aha.Training;

/// <summary>
/// DPO settings. β 0.1 and a constant learning rate as in TRL's DPOTrainer; the rate, batch and length are scaled for a tiny
/// model on a CPU. Each step takes <see cref="BatchSize"/> pairs in an order shuffled per pass by the seed.
/// </summary>
public sealed record DpoOptions
{
    public int Steps { get; init; } = 100;
    /// <summary>Pairs per optimizer step.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>β: how far the policy may move from the reference (TRL: 0.1).</summary>
    public double Beta { get; init; } = 0.1;
    public DpoLossType Loss { get; init; } = DpoLossType.Sigmoid;
    /// <summary>ε of conservative DPO, the share of labels assumed wrong (0 = plain DPO; sigmoid loss only).</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>Longest prompt + completion in tokens; longer pairs lose the prompt's start first (TRL's keep_end).</summary>
    public int MaxLength { get; init; } = 192;

    /// <summary>Constant rate. TRL's 1e-6 is for billions of parameters; the demo's 0.8M-parameter base measured best near 5e-5 (2e-4 collapsed: README).</summary>
    public double LearningRate { get; init; } = 5e-5;
    public double WeightDecay { get; init; }
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Global gradient-norm clip; 0 disables clipping (the norm is still measured).</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Held-out task accuracy every N steps (and before the first and after the last); 0 = only before and after.</summary>
    public int EvalEvery { get; init; }
    public long Seed { get; init; } = 1;
    public int SaveEvery { get; init; } = 50;
    public int KeepLast { get; init; } = 2;
    public int MaxBadStepsInARow { get; init; } = 5;

    public DpoOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"dpo: {message}"); }
        Require(Steps > 0, $"--steps must be positive (got {Steps}).");
        Require(BatchSize > 0, $"--batch-size must be positive (got {BatchSize}).");
        Require(Beta > 0 && double.IsFinite(Beta), $"--beta must be positive (got {Beta}); it scales the implicit reward and IPO's target 1/(2β).");
        Require(LabelSmoothing is >= 0 and < 0.5, $"--label-smoothing must be in [0, 0.5) (got {LabelSmoothing}); 0.5 would make every label a coin flip.");
        Require(LabelSmoothing == 0 || Loss == DpoLossType.Sigmoid, $"--label-smoothing applies to --loss dpo only (got --loss ipo with {LabelSmoothing}).");
        Require(MaxLength >= 2, $"--max-length must be at least 2 (got {MaxLength}).");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr must be positive (got {LearningRate}).");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), $"--weight-decay must be ≥ 0 (got {WeightDecay}).");
        Require(MaxGradNorm >= 0 && !double.IsNaN(MaxGradNorm), $"--grad-clip must be 0 (off) or positive (got {MaxGradNorm}).");
        Require(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"AdamW betas ({Beta1}, {Beta2}) must each be in [0, 1).");
        Require(EvalEvery >= 0, $"--eval-every must be ≥ 0 (got {EvalEvery}).");
        Require(SaveEvery >= 0, $"--save-every must be ≥ 0 (got {SaveEvery}).");
        Require(KeepLast >= 0, $"--keep-last must be ≥ 0, 0 keeping all (got {KeepLast}).");
        Require(MaxBadStepsInARow > 0, $"max bad steps in a row must be positive (got {MaxBadStepsInARow}).");
        return this;
    }
}
