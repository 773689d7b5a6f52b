namespace Aha.Tasks.Countdown;

/// <summary>
/// Shape of <see cref="SignsTask"/> puzzles: Count numbers in [MinNumber, MaxNumber], kept in order, a target in
/// [MinTarget, MaxTarget] reached by putting + or − between them. With 4 numbers there are 8 sign patterns, so a
/// guess is right about one time in six, while checking one pattern is a few additions.
/// </summary>
public sealed record SignsOptions
{
    public int MinCount { get; init; } = 3;
    public int MaxCount { get; init; } = 4;
    public int MinNumber { get; init; } = 1;
    public int MaxNumber { get; init; } = 9;
    public int MinTarget { get; init; } = 1;
    public int MaxTarget { get; init; } = 30;

    public SignsOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"signs options: {message}"); }
        Require(MinCount >= 2 && MinCount <= MaxCount && MaxCount <= 8, $"need 2 <= min_count ({MinCount}) <= max_count ({MaxCount}) <= 8.");
        Require(MinNumber >= 1 && MinNumber <= MaxNumber && MaxNumber <= 999, $"need 1 <= min_number ({MinNumber}) <= max_number ({MaxNumber}) <= 999.");
        Require(MinTarget >= 1 && MinTarget <= MaxTarget, $"need 1 <= min_target ({MinTarget}) <= max_target ({MaxTarget}).");
        Require(MaxTarget <= MaxCount * MaxNumber, $"max_target ({MaxTarget}) is above the largest reachable sum {MaxCount * MaxNumber}.");
        return this;
    }
}
