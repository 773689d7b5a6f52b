namespace Aha.Training;

/// <summary>
/// Everything that shapes a next-token training run (pretraining or SFT). Immutable; validated once by
/// <see cref="Validate"/> with messages naming the command-line option and the fix. Saved in trainer_state.json.
/// </summary>
public sealed record LanguageModelTrainerOptions
{
    /// <summary>Optimizer steps in the whole run.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Rows per micro-batch, B.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Tokens per row, T (SFT rows are truncated to it).</summary>
    public int SequenceLength { get; init; } = 256;
    /// <summary>Micro-batches whose gradients are summed before one optimizer step.</summary>
    public int GradAccum { get; init; } = 1;
    /// <summary>Peak learning rate of the warmup-cosine schedule.</summary>
    public double LearningRate { get; init; } = 3e-4;
    /// <summary>Steps of linear warmup.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>The schedule ends at this fraction of the peak.</summary>
    public double MinLrRatio { get; init; } = 0.1;
    /// <summary>AdamW decoupled weight decay, applied to matrices only (norm gains and biases are not pulled to zero).</summary>
    public double WeightDecay { get; init; } = 0.0;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    /// <summary>Global gradient-norm clip; 0 disables clipping (the norm is still measured).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Validation loss every N steps (and at the end); 0 disables.</summary>
    public int EvalEvery { get; init; } = 100;
    /// <summary>Checkpoint every N steps; the end of the run and an interrupt always save. 0 = only those.</summary>
    public int SaveEvery { get; init; } = 200;
    /// <summary>Step checkpoints kept on disk (the newest ones); 0 keeps all.</summary>
    public int KeepLast { get; init; } = 3;
    /// <summary>One fixed-format log line every N steps.</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>Non-finite losses or gradient norms in a row before the run aborts (each one skips its update).</summary>
    public int MaxBadSteps { get; init; } = 5;
    /// <summary>Base seed: model initialisation and data order derive from it.</summary>
    public long Seed { get; init; } = 42;
    /// <summary>Also write TensorBoard event files.</summary>
    public bool TensorBoard { get; init; }
    /// <summary>λ, weight of the multi-token-prediction loss when the model has MTP modules (DeepSeek-V3: 0.3, later 0.1); 0 = off.</summary>
    public double MtpWeight { get; init; } = 0.3;
    /// <summary>α, weight of the sequence-wise expert balance loss when the model has MoE layers (DeepSeek-V3: 1e-4); 0 = off.</summary>
    public double BalanceWeight { get; init; } = 1e-4;
    /// <summary>γ, the router-bias step of auxiliary-loss-free balancing after each optimizer step (DeepSeek-V3: 0.001); 0 = off.</summary>
    public double BiasGamma { get; init; } = 0.001;

    /// <summary>Tokens each optimizer step reads: B × T × accumulation.</summary>
    public long TokensPerStep => (long)BatchSize * SequenceLength * GradAccum;

    /// <summary>Throws <see cref="ArgumentException"/> naming the option and the fix when a value is out of range.</summary>
    public LanguageModelTrainerOptions Validate()
    {
        static void Require(bool ok, string message) { if (!ok) throw new ArgumentException(message); }
        Require(Steps > 0, $"--steps {Steps}: must be positive.");
        Require(BatchSize > 0, $"--batch-size {BatchSize}: must be positive.");
        Require(SequenceLength >= 2, $"--seq-len {SequenceLength}: must be at least 2.");
        Require(GradAccum > 0, $"--grad-accum {GradAccum}: must be positive (1 = no accumulation).");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr {LearningRate}: must be a positive number, e.g. 3e-4.");
        Require(WarmupSteps >= 0, $"--warmup {WarmupSteps}: must be 0 or more.");
        Require(MinLrRatio is >= 0 and <= 1, $"min lr ratio {MinLrRatio}: must be between 0 and 1.");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), $"--weight-decay {WeightDecay}: must be 0 or more.");
        Require(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"AdamW betas ({Beta1}, {Beta2}): each must be in [0, 1).");
        Require(GradClip >= 0 && !double.IsNaN(GradClip), $"--grad-clip {GradClip}: must be 0 (off) or positive.");
        Require(EvalEvery >= 0, $"--eval-every {EvalEvery}: must be 0 (off) or positive.");
        Require(SaveEvery >= 0, $"--save-every {SaveEvery}: must be 0 (only at the end) or positive.");
        Require(KeepLast >= 0, $"--keep-last {KeepLast}: must be 0 (keep all) or positive.");
        Require(LogEvery > 0, $"--log-every {LogEvery}: must be positive.");
        Require(MaxBadSteps > 0, $"--max-bad-steps {MaxBadSteps}: must be positive.");
        Require(MtpWeight >= 0 && double.IsFinite(MtpWeight), $"--mtp-weight {MtpWeight}: must be 0 (off) or positive, e.g. 0.3.");
        Require(BalanceWeight >= 0 && double.IsFinite(BalanceWeight), $"--balance-weight {BalanceWeight}: must be 0 (off) or positive, e.g. 1e-4.");
        Require(BiasGamma >= 0 && double.IsFinite(BiasGamma), $"--bias-gamma {BiasGamma}: must be 0 (off) or positive, e.g. 0.001.");
        return this;
    }
}
