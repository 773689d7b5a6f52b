namespace Aha.Training;

/// <summary>What one optimizer step did, for progress displays, benchmarks and tests.</summary>
/// <param name="Step">Steps completed, counting this one.</param>
/// <param name="Loss">Mean loss over the step's scored tokens (NaN or ∞ when the update was skipped).</param>
/// <param name="Skipped">True when the loss or gradient norm was non-finite and the update was not applied.</param>
/// <param name="Mfu">Model FLOPs utilisation against the measured matmul peak; 0 when no peak was given.</param>
public sealed record StepReport(long Step, double Loss, double LearningRate, double GradNorm, bool Skipped,
    double TokensPerSecond, double Mfu, double Seconds);
