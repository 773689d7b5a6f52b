namespace Aha.Tasks;

/// <summary>A verifier's decision on one completion: what it read as the answer (null: nothing found) and whether that is right.</summary>
public sealed record Verdict(string? Extracted, bool Correct)
{
    /// <summary>Why it is wrong, when the verifier can say (e.g. "uses 7 twice", "division by zero").</summary>
    public string? Reason { get; init; }
}
