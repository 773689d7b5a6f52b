namespace Aha.Tasks.Countdown;

/// <summary>Shape of Countdown puzzles (TinyZero's task): numbers drawn from [MinNumber, MaxNumber], a target in [MinTarget, MaxTarget].</summary>
public sealed record CountdownOptions
{
    public int MinCount { get; init; } = 3;
    public int MaxCount { get; init; } = 4;
    public int MinNumber { get; init; } = 1;
    public int MaxNumber { get; init; } = 99;
    public int MinTarget { get; init; } = 1;
    public int MaxTarget { get; init; } = 100;
    /// <summary>On: every number must be used exactly once (TinyZero's checker). Off: at most once.</summary>
    public bool ExactlyOnce { get; init; }

    public CountdownOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"countdown options: {message}"); }
        Require(MinCount >= 2 && MinCount <= MaxCount && MaxCount <= 6, $"need 2 <= min_count ({MinCount}) <= max_count ({MaxCount}) <= 6.");
        Require(MinNumber >= 1 && MinNumber <= MaxNumber && MaxNumber <= 10_000, $"need 1 <= min_number ({MinNumber}) <= max_number ({MaxNumber}) <= 10000.");
        Require(MinTarget >= 1 && MinTarget <= MaxTarget && MaxTarget <= 1_000_000, $"need 1 <= min_target ({MinTarget}) <= max_target ({MaxTarget}) <= 1000000.");
        return this;
    }
}
