namespace Aha.Tasks.Answers;

/// <summary>
/// An answer reduced to what it means: a number (compared exactly as a rational) or, failing that, cleaned text.
/// <see cref="Key"/> is equal for equivalent answers, so it is also the ballot in a majority vote.
/// </summary>
public sealed record NormalizedAnswer(string Key, Rational? Number)
{
    public bool IsNumber => Number is not null;

    public bool Matches(NormalizedAnswer other) =>
        Number is { } a ? other.Number is { } b && a == b : other.Number is null && Key == other.Key;
}
