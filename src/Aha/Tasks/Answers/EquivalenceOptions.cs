namespace Aha.Tasks.Answers;

/// <summary>How lenient answer comparison is. The defaults suit GSM8K-style word problems.</summary>
public sealed record EquivalenceOptions
{
    /// <summary><c>50%</c> reads as <c>50</c>; off, a percent sign makes the answer text (so <c>50%</c> ≠ <c>50</c>).</summary>
    public bool StripPercent { get; init; } = true;
    /// <summary><c>$18</c>, <c>€18</c>, <c>£18</c>, <c>¥18</c>, <c>₹18</c> read as <c>18</c>; off, a currency sign makes the answer text.</summary>
    public bool StripCurrency { get; init; } = true;
    /// <summary>Longer digit strings are not parsed as numbers (a model can write a million digits; parsing them is quadratic).</summary>
    public int MaxDigits { get; init; } = 400;
    /// <summary>Longer answers are not compared at all: they are wrong.</summary>
    public int MaxLength { get; init; } = 10_000;

    public static EquivalenceOptions Default { get; } = new();
}
