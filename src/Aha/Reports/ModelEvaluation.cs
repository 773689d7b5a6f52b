using Aha.Eval;

namespace Aha.Reports;

/// <summary>
/// One model's evaluation on the held-out problems: greedy pass@1 (one sample per problem) and, optionally, K sampled
/// completions per problem for pass@k and maj@k. The report reads accuracy and completion habits (length, thinking,
/// reflective words, format) from the greedy run, so base and final are compared on identical, deterministic decodes.
/// </summary>
public sealed record ModelEvaluation(EvalReport Greedy, EvalReport? Sampled = null);
