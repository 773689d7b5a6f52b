namespace Aha.Data;

/// <summary>The mix of <see cref="RetryCorpus"/>: retry traces, clean solutions, and bare guesses (the rest).</summary>
public sealed record RetryCorpusOptions
{
    /// <summary>Share of documents that try a sign pattern, check it against the target, reject it and try another.</summary>
    public double RetryShare { get; init; } = 0.2;
    /// <summary>Share of documents that write the right pattern and its value at once (no search shown).</summary>
    public double CleanShare { get; init; } = 0.2;
    /// <summary>Chance that a retry trace stops early and answers with a pattern it has just rejected: it ends wrong.</summary>
    public double GiveUpRate { get; init; } = 0.2;
    /// <summary>Chance per step of a running total that it is written off by one (a slip the check then trusts).</summary>
    public double SlipRate { get; init; } = 0.01;
    /// <summary>Chance that a new try after a rejection is introduced with "wait," (R1-Zero's word), else with nothing.</summary>
    public double WaitRate { get; init; } = 0.5;
    /// <summary>Most patterns a retry trace checks before it gives up (a 4-number puzzle has 8; four fit in 160 tokens).</summary>
    public int MaxTries { get; init; } = 4;

    public RetryCorpusOptions Validate()
    {
        foreach (var (name, value) in new[] { ("retry_share", RetryShare), ("clean_share", CleanShare), ("give_up_rate", GiveUpRate), ("slip_rate", SlipRate), ("wait_rate", WaitRate) })
            if (value is < 0 or > 1 || double.IsNaN(value))
                throw new ArgumentException($"retry corpus: {name} = {value} must be between 0 and 1.");
        if (RetryShare + CleanShare > 1) throw new ArgumentException($"retry corpus: retry_share ({RetryShare}) + clean_share ({CleanShare}) must be at most 1; bare guesses are the rest.");
        if (MaxTries < 1) throw new ArgumentException($"retry corpus: max_tries must be at least 1 (got {MaxTries}).");
        return this;
    }
}
