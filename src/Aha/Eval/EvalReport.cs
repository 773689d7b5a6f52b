namespace Aha.Eval;

/// <summary>Everything a scoring run produces: every sample, every problem, the summary.</summary>
public sealed record EvalReport(IReadOnlyList<ScoredSample> Samples, IReadOnlyList<ProblemResult> Problems, EvalSummary Summary);
