using System.Diagnostics;
using System.Text.Json;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Model;
using Aha.Tasks;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Compare;

/// <summary>One route × seed as measured: what it consumed, what it spent, and the held-out behaviour of its model.</summary>
public sealed record RouteResult
{
    public required string Route { get; init; }
    public required long Seed { get; init; }
    public int HumanLabels { get; init; }
    public int AiLabels { get; init; }
    public int Demonstrations { get; init; }
    public double? LabelAgreement { get; init; }
    public double? RewardModelAgreement { get; init; }
    public required double GreedyAccuracy { get; init; }
    public required int K { get; init; }
    public required double PassAtK { get; init; }
    public required double MajAtK { get; init; }
    public required double MeanTokens { get; init; }
    public required double ThinkShare { get; init; }
    public required double ReflectiveWords { get; init; }
    public double? HackingGap { get; init; }
    public string? ProxyName { get; init; }
    public bool LearnedProxy { get; init; }
    /// <summary>Training FLOPs actually spent (labelling samples and reward-model training included).</summary>
    public required double Flops { get; init; }
    /// <summary>Wall seconds of training (the curve's evaluations taken out).</summary>
    public required double Seconds { get; init; }
    public required double EvalSeconds { get; init; }
    public required long Steps { get; init; }
    public IReadOnlyList<CurvePoint> Curve { get; init; } = [];
    public IReadOnlyList<ProxyPoint> Proxy { get; init; } = [];
}

/// <summary>
/// <c>aha compare</c>'s runs: every route from the same base checkpoint, on the same task and held-out problems, each
/// seed under the same FLOPs budget. A finished route × seed leaves <c>ROUTE/seed-N/result.json</c> (written atomically);
/// a rerun on the same folder reads it instead of training again.
/// </summary>
public static class CompareRun
{
    public const string ResultFile = "result.json";

    static readonly JsonSerializerOptions Json = new(ReportFiles.Json) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static IReadOnlyList<RouteResult> Run(string dir, string baseModel, ITask task, CompareOptions options, Action<string> log, CancellationToken cancel = default)
    {
        var o = options.Validate();
        var problems = ModelEvaluator.Problems(task, o.EvalProblems);
        var curveProblems = problems.Take(o.CurveProblems).ToList();
        double? baseAccuracy = null;
        var results = new List<RouteResult>();
        foreach (var route in o.Routes.Select(CompareRoutes.Get))
            foreach (long seed in route.Seeded ? o.Seeds : [0L])
            {
                string folder = Path.Combine(dir, route.Name, $"seed-{seed}");
                string marker = Path.Combine(folder, ResultFile);
                if (File.Exists(marker))
                {
                    log($"{route.Name} seed {seed}: done before, reading {marker}");
                    results.Add(Read(marker));
                    continue;
                }
                cancel.ThrowIfCancellationRequested();
                Directory.CreateDirectory(folder);
                baseAccuracy ??= BaseCurveAccuracy(baseModel, task, curveProblems, o);
                log($"{route.Name} seed {seed}: {route.Description}, budget {o.Budget:0.00e+00} FLOPs");
                var context = new RouteContext(baseModel, task, o, seed, folder, curveProblems, baseAccuracy.Value, log, cancel);
                var clock = Stopwatch.StartNew();
                var outcome = route.Run(context);
                double seconds = clock.Elapsed.TotalSeconds - context.EvalSeconds;
                using var model = outcome.Model;
                var result = Evaluate(model, ModelLoader.Open(baseModel).Tokenizer, task, problems, o) with
                {
                    Route = route.Name, Seed = seed, HumanLabels = outcome.HumanLabels, AiLabels = outcome.AiLabels,
                    Demonstrations = outcome.Demonstrations, LabelAgreement = Finite(outcome.LabelAgreement),
                    RewardModelAgreement = Finite(outcome.RewardModelAgreement), HackingGap = Finite(outcome.HackingGap), ProxyName = outcome.ProxyName,
                    LearnedProxy = outcome.LearnedProxy,
                    Flops = context.Spent, Seconds = seconds, EvalSeconds = context.EvalSeconds, Steps = outcome.Steps, Proxy = outcome.Proxy,
                };
                // The last curve point is the final model on the curve problems (a prefix of the evaluation's).
                result = result with { Curve = [.. context.Curve, new CurvePoint(context.Spent, result.Curve[0].Accuracy)] };
                Durable.ReplaceText(marker, JsonSerializer.Serialize(result, Json));
                log($"{route.Name} seed {seed}: greedy {result.GreedyAccuracy:P1}, pass@{result.K} {result.PassAtK:P1}, maj@{result.K} {result.MajAtK:P1}, " +
                    $"{result.Flops:0.00e+00} FLOPs ({result.Flops / o.Budget:P0} of the budget), {result.Seconds:F0} s");
                results.Add(result);
            }
        return results;
    }

    public static RouteResult Read(string marker) =>
        JsonSerializer.Deserialize<RouteResult>(File.ReadAllText(marker), Json)
        ?? throw new InvalidDataException($"{marker} is empty; delete it to run that route and seed again.");

    /// <summary>
    /// Greedy accuracy, length, think share and reflective words on every held-out problem; pass@k and maj@k on the first
    /// <see cref="CompareOptions.SampledProblems"/> with k samples at T 0.6, top-p 0.95 (the R1 protocol). The same seeds
    /// for every route, so two models face the same draws. <c>Curve</c> holds one point: greedy accuracy on the curve problems.
    /// </summary>
    public static RouteResult Evaluate(LlamaModel model, ITokenizer tokenizer, ITask task, IReadOnlyList<TaskItem> problems, CompareOptions o)
    {
        var greedy = ModelEvaluator.Evaluate(model, tokenizer, task, problems, new EvalOptions { MaxNewTokens = o.MaxCompletionTokens, BatchSize = 100 });
        var sampled = ModelEvaluator.Evaluate(model, tokenizer, task, problems.Take(o.SampledProblems).ToList(),
            new EvalOptions { Samples = o.Samples, Ks = [1, o.Samples], MaxNewTokens = o.MaxCompletionTokens, BatchSize = 128 });
        var texts = greedy.Samples.Select(s => s.Row.Completion).ToList();
        return new RouteResult
        {
            Route = "", Seed = 0, GreedyAccuracy = greedy.Summary.Accuracy, K = o.Samples,
            PassAtK = sampled.Summary.PassAtK[o.Samples], MajAtK = sampled.Summary.MajAtK[o.Samples],
            MeanTokens = greedy.Summary.MeanCompletionTokens ?? double.NaN,
            ThinkShare = texts.Average(t => t.Contains("<think>", StringComparison.Ordinal) ? 1.0 : 0.0),
            ReflectiveWords = texts.Average(t => (double)ReflectiveWords.Count(t)),
            Flops = 0, Seconds = 0, EvalSeconds = 0, Steps = 0,
            Curve = [new CurvePoint(0, greedy.Samples.Take(o.CurveProblems).Average(s => s.Correct ? 1.0 : 0.0))],
        };
    }

    static double BaseCurveAccuracy(string baseModel, ITask task, IReadOnlyList<TaskItem> curveProblems, CompareOptions o)
    {
        var (model, checkpoint) = ModelLoader.OpenAndLoad(baseModel);
        using (model)
            return ModelEvaluator.Evaluate(model, checkpoint.Tokenizer, task, curveProblems, new EvalOptions { MaxNewTokens = o.MaxCompletionTokens, BatchSize = 100 }).Summary.Accuracy;
    }

    static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}
