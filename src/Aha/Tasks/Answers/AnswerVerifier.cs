namespace Aha.Tasks.Answers;

/// <summary>Extract, then compare: the verifier of every task whose answer is a number or a short LaTeX expression.</summary>
public sealed record AnswerVerifier
{
    public AnswerSources Sources { get; init; } = AnswerSources.All;
    public EquivalenceOptions Equivalence { get; init; } = EquivalenceOptions.Default;

    public Verdict Verify(string? completion, string gold)
    {
        var extraction = AnswerExtractor.Extract(completion, Sources);
        if (extraction is null) return new Verdict(null, false) { Reason = "no answer found" };
        var correct = AnswerEquivalence.AreEquivalent(extraction.Text, gold, Equivalence);
        return new Verdict(extraction.Text, correct);
    }

    /// <summary>Null when <paramref name="gold"/> parses as a number, else the complaint (for tasks that need numeric gold).</summary>
    public string? CheckNumericGold(string gold) =>
        AnswerNormalizer.Normalize(gold, Equivalence) is { IsNumber: true }
            ? null
            : $"gold answer '{Truncate(gold)}' is not a number";

    internal static string Truncate(string text, int max = 60) => text.Length <= max ? text : text[..max] + "…";
}
