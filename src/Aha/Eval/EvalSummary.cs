namespace Aha.Eval;

/// <summary>
/// Headline numbers of a run. Accuracy is the mean over problems of c/n (pass@1 averaged over samples; with one
/// greedy sample it is greedy pass@1). Lengths are in characters, and in tokens when every row carried a count.
/// </summary>
public sealed record EvalSummary
{
    public required string Task { get; init; }
    public required int Problems { get; init; }
    public required int Samples { get; init; }
    public required double Accuracy { get; init; }
    public required IReadOnlyDictionary<int, double> PassAtK { get; init; }
    public required IReadOnlyDictionary<int, double> MajAtK { get; init; }
    public required double MeanCompletionChars { get; init; }
    public double? MeanCompletionTokens { get; init; }
    public double TruncatedShare { get; init; }
    public double NoAnswerShare { get; init; }
    public int SkippedRows { get; init; }
    /// <summary>How completions were sampled, when known (<c>aha eval</c>); null for completions scored from a file.</summary>
    public SamplingSettings? Sampling { get; init; }
}
