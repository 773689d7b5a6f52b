namespace Aha.Eval;

/// <summary>
/// Reflection over a set of completions, measured two ways (keywords and behaviour, see <see cref="TraceReflection"/>),
/// with the behaviour's precision and recall against correctness as oat-zero reports them:
/// precision P(correct | reflected), recall P(reflected | correct), and accuracy split by reflected / did not.
/// Ratios with an empty denominator are NaN (shown as "-"), never 0.
/// </summary>
public sealed record ReflectionStats
{
    public required int Completions { get; init; }
    public required double Accuracy { get; init; }
    /// <summary>Mean wait/check/verify/again per completion.</summary>
    public required double KeywordsPerCompletion { get; init; }
    /// <summary>Share of completions with at least one keyword.</summary>
    public required double KeywordShare { get; init; }
    public required double CandidatesPerCompletion { get; init; }
    public required double ChecksPerCompletion { get; init; }
    public required double BacktracksPerCompletion { get; init; }
    /// <summary>Share of candidates whose written value is wrong (checks that were not really done).</summary>
    public required double WrongValueShare { get; init; }
    /// <summary>Share of completions that reflected (rejected a candidate and tried another).</summary>
    public required double ReflectedShare { get; init; }
    /// <summary>P(correct | reflected).</summary>
    public required double Precision { get; init; }
    /// <summary>P(reflected | correct).</summary>
    public required double Recall { get; init; }
    /// <summary>P(correct | did not reflect).</summary>
    public required double AccuracyNotReflected { get; init; }
    /// <summary>P(correct | at least one keyword), the keyword measure's precision.</summary>
    public required double KeywordPrecision { get; init; }

    public static ReflectionStats From(IEnumerable<(string Completion, bool Correct)> completions)
    {
        var rows = completions.Select(c => (Trace: TraceReflection.Parse(c.Completion), c.Correct)).ToList();
        double Share(Func<(TraceReflection Trace, bool Correct), bool> where, Func<(TraceReflection Trace, bool Correct), bool> what)
        {
            var subset = rows.Where(where).ToList();
            return subset.Count == 0 ? double.NaN : subset.Count(what) / (double)subset.Count;
        }
        double Mean(Func<TraceReflection, double> f) => rows.Count == 0 ? double.NaN : rows.Average(r => f(r.Trace));
        var candidates = rows.Sum(r => r.Trace.Candidates);
        return new ReflectionStats
        {
            Completions = rows.Count,
            Accuracy = Share(_ => true, r => r.Correct),
            KeywordsPerCompletion = Mean(t => t.Keywords),
            KeywordShare = Share(_ => true, r => r.Trace.Keywords > 0),
            CandidatesPerCompletion = Mean(t => t.Candidates),
            ChecksPerCompletion = Mean(t => t.Checks),
            BacktracksPerCompletion = Mean(t => t.Backtracks),
            WrongValueShare = candidates == 0 ? double.NaN : rows.Sum(r => r.Trace.WrongValues) / (double)candidates,
            ReflectedShare = Share(_ => true, r => r.Trace.Reflected),
            Precision = Share(r => r.Trace.Reflected, r => r.Correct),
            Recall = Share(r => r.Correct, r => r.Trace.Reflected),
            AccuracyNotReflected = Share(r => !r.Trace.Reflected, r => r.Correct),
            KeywordPrecision = Share(r => r.Trace.Keywords > 0, r => r.Correct),
        };
    }

    /// <summary>The numbers as metrics.jsonl-style scalars, prefixed (e.g. <c>refl_precision</c>).</summary>
    public IReadOnlyDictionary<string, double> Scalars(string prefix) => new Dictionary<string, double>
    {
        [prefix + "accuracy"] = Accuracy,
        [prefix + "keywords"] = KeywordsPerCompletion,
        [prefix + "keyword_share"] = KeywordShare,
        [prefix + "candidates"] = CandidatesPerCompletion,
        [prefix + "checks"] = ChecksPerCompletion,
        [prefix + "backtracks"] = BacktracksPerCompletion,
        [prefix + "wrong_values"] = WrongValueShare,
        [prefix + "reflected"] = ReflectedShare,
        [prefix + "precision"] = Precision,
        [prefix + "recall"] = Recall,
        [prefix + "accuracy_not_reflected"] = AccuracyNotReflected,
        [prefix + "keyword_precision"] = KeywordPrecision,
    };
}
