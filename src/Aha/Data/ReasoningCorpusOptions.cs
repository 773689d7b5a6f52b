namespace Aha.Data;

/// <summary>The mix of the built-in reasoning corpus (see <see cref="ReasoningCorpus"/>).</summary>
public sealed record ReasoningCorpusOptions
{
    /// <summary>Share of documents answered with a worked solution inside &lt;think&gt;.</summary>
    public double WorkedShare { get; init; } = 0.35;
    /// <summary>Share of bare answers that are right; the rest forget the carries.</summary>
    public double BareCorrectShare { get; init; } = 0.3;
    /// <summary>Chance per column of a worked solution that a slip is written and then corrected ("wait, …").</summary>
    public double SlipRate { get; init; } = 0.05;

    public ReasoningCorpusOptions Validate()
    {
        foreach (var (name, value) in new[] { ("worked_share", WorkedShare), ("bare_correct_share", BareCorrectShare), ("slip_rate", SlipRate) })
            if (value is < 0 or > 1 || double.IsNaN(value))
                throw new ArgumentException($"reasoning corpus: {name} = {value} must be between 0 and 1.");
        return this;
    }
}
