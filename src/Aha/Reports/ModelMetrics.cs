using Aha.Eval;
using Aha.Tasks.Rewards;

namespace Aha.Reports;

/// <summary>
/// The before/after numbers of one model, as written under <c>base</c> and <c>final</c> in the demo's summary.json.
/// Accuracy and the completion habits come from the greedy run; pass@k and maj@k from the sampled run when there is one.
/// </summary>
public sealed record ModelMetrics
{
    public required int Problems { get; init; }

    /// <summary>Greedy pass@1: the share of problems whose single greedy completion is correct.</summary>
    public required double Accuracy { get; init; }

    /// <summary>Completions per problem behind pass@k and maj@k (1 when only the greedy run exists).</summary>
    public required int SamplesPerProblem { get; init; }

    public required IReadOnlyDictionary<int, double> PassAtK { get; init; }
    public required IReadOnlyDictionary<int, double> MajAtK { get; init; }

    /// <summary>Mean greedy completion length in tokens; null when the completions carried no token counts.</summary>
    public required double? MeanCompletionTokens { get; init; }

    /// <summary>Share of greedy completions that open a <c>&lt;think&gt;</c> block (the trainer's think_fraction).</summary>
    public required double ThinkFraction { get; init; }

    /// <summary>Mean count of wait/check/verify/again per greedy completion (the trainer's reflective_words).</summary>
    public required double ReflectiveWords { get; init; }

    /// <summary>Share of greedy completions in R1-Zero format: think block, then a non-empty answer block, nothing else.</summary>
    public required double FormatFraction { get; init; }

    /// <summary>Share of greedy completions cut at the token limit.</summary>
    public required double TruncatedFraction { get; init; }

    public static ModelMetrics From(ModelEvaluation evaluation)
    {
        var greedy = evaluation.Greedy;
        if (greedy.Samples.Count == 0) throw new ArgumentException("the greedy evaluation has no samples; evaluate at least one problem before writing a report.", nameof(evaluation));
        var sampled = evaluation.Sampled ?? greedy;
        var format = new FormatReward();
        var texts = greedy.Samples.Select(s => s.Row).ToList();
        return new ModelMetrics
        {
            Problems = greedy.Summary.Problems,
            Accuracy = greedy.Summary.Accuracy,
            SamplesPerProblem = sampled.Summary.Problems == 0 ? 0 : sampled.Summary.Samples / sampled.Summary.Problems,
            PassAtK = sampled.Summary.PassAtK,
            MajAtK = sampled.Summary.MajAtK,
            MeanCompletionTokens = greedy.Summary.MeanCompletionTokens,
            ThinkFraction = texts.Average(r => r.Completion.Contains("<think>", StringComparison.Ordinal) ? 1.0 : 0.0),
            ReflectiveWords = texts.Average(r => (double)Training.ReflectiveWords.Count(r.Completion)),
            FormatFraction = texts.Average(r => format.IsWellFormed(r.Prompt ?? "", r.Completion) ? 1.0 : 0.0),
            TruncatedFraction = greedy.Summary.TruncatedShare,
        };
    }
}
