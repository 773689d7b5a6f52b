namespace Aha.Training;

/// <summary>What one optimizer step did, for progress displays, benchmarks and tests.</summary>
/// <param name="Step">Steps completed, counting this one.</param>
/// <param name="Loss">Mean next-token loss over the step's scored tokens, without the auxiliary MTP and balance losses (NaN or ∞ when the update was skipped).</param>
/// <param name="Skipped">True when the loss or gradient norm was non-finite and the update was not applied.</param>
/// <param name="Mfu">Model FLOPs utilisation against the measured matmul peak; 0 when no peak was given.</param>
public sealed record StepReport(long Step, double Loss, double LearningRate, double GradNorm, bool Skipped,
    double TokensPerSecond, double Mfu, double Seconds)
{
    /// <summary>The weighted multi-token-prediction loss (λ·mean), 0 when the model has no MTP modules or λ = 0. Not in <see cref="Loss"/>.</summary>
    public double MtpLoss { get; init; }
    /// <summary>Tokens each routed expert took this step, per MoE layer (the load the router bias was updated from); empty without MoE.</summary>
    public IReadOnlyList<Aha.Model.ExpertLoad> ExpertLoads { get; init; } = [];
    /// <summary>Model FLOPs of the step's real tokens (forward + backward, <see cref="Training.Flops.Forward(Aha.Model.ModelConfig, long, IEnumerable{int})"/> × 3).</summary>
    public double Flops { get; init; }
}
