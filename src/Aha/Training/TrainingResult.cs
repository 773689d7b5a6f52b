namespace Aha.Training;

/// <summary>The end of a run: how it ended, where it stopped and the last numbers.</summary>
/// <param name="Checkpoint">The newest checkpoint folder this run saved, if any.</param>
public sealed record TrainingResult(TrainingOutcome Outcome, long Step, double? Loss, double? ValidationLoss,
    double TokensPerSecond, double Mfu, long SkippedSteps, string? Checkpoint);
