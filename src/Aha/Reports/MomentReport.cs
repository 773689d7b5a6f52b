using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Aha.Eval;
using Aha.Training;

namespace Aha.Reports;

/// <summary>
/// The report folder of <c>aha demo --task signs</c>: <c>report.md</c> comparing the three GRPO runs (held-out accuracy,
/// length, reflection by keywords and by behaviour with precision and recall, over steps and at the end), plots,
/// example traces before and after, and <c>summary.json</c>; each run also gets the addition demo's own report
/// folder (<c>verifier/</c>, <c>format/</c>, <c>random/</c>, written by <see cref="DemoReport"/>).
/// </summary>
public static class MomentReport
{
    public const string SummaryFile = "summary.json";
    const int ExampleTraces = 4;

    public static string Write(string dir, string command, MomentOptions options, MomentResult result, int threads)
    {
        Directory.CreateDirectory(dir);
        var o = options.Demo;
        var settings = new Dictionary<string, object>
        {
            ["task"] = $"signs: {options.Task.MinCount}-{options.Task.MaxCount} numbers in [{options.Task.MinNumber}, {options.Task.MaxNumber}], target in [{options.Task.MinTarget}, {options.Task.MaxTarget}], held-out split",
            ["model"] = $"{(o.Arch == "llama" ? "Llama-style" : Architectures.Describe(o.Arch))}, d {o.HiddenSize}, {o.Layers} layers, {o.Heads} heads, byte tokenizer",
            ["pretrain steps"] = o.PretrainSteps,
            ["pretrain tokens"] = (long)o.PretrainSteps * o.PretrainBatch * o.SequenceLength,
            ["corpus"] = $"retry {options.Corpus.RetryShare:0.##}, clean {options.Corpus.CleanShare:0.##}, bare guesses the rest; give-up {options.Corpus.GiveUpRate:0.##}, slip {options.Corpus.SlipRate:0.##}, max tries {options.Corpus.MaxTries}",
            ["grpo steps"] = o.Grpo.Steps,
            ["prompts × samples per step"] = $"{o.Grpo.PromptsPerStep} × {o.Grpo.GroupSize}",
            ["max completion tokens"] = o.Grpo.MaxCompletionTokens,
            ["grpo lr"] = o.Grpo.LearningRate,
            ["beta (KL)"] = o.Grpo.Beta,
            ["eval"] = $"{o.EvalProblems} problems greedy; {o.SampledProblems} × {o.Samples} samples at T 0.6, top-p 0.95; curve: first {options.CurveProblems} greedy every {options.CurveEvery} steps",
            ["seed"] = o.Seed,
            ["threads"] = threads,
        };
        var baseEval = new ModelEvaluation(result.BaseGreedy, result.BaseSampled);
        foreach (var arm in result.Arms)
            DemoReport.Write(Path.Combine(dir, arm.Name), new DemoReportInput
            {
                Command = command, Settings = new Dictionary<string, object>(settings) { ["rewards"] = arm.Rewards },
                Base = baseEval, Final = new ModelEvaluation(arm.FinalGreedy, arm.FinalSampled), Steps = arm.Steps,
                PhaseSeconds = result.PhaseSeconds.Where(p => p.Key.EndsWith(arm.Name, StringComparison.Ordinal)).ToDictionary(),
                Title = $"Aha-moment demo, GRPO with reward {arm.Rewards}",
            });
        var figures = Plots(dir, result);
        var markdown = Path.Combine(dir, DemoReport.MarkdownFile);
        WriteAtomically(markdown, Render(command, settings, result, figures));
        WriteAtomically(Path.Combine(dir, SummaryFile), Summary(command, result).ToJsonString(ReportFiles.Json) + "\n");
        return markdown;
    }

    /// <summary>Base and every arm's final numbers, curves and first/last step, for scripts (NaN written as null).</summary>
    public static JsonObject Summary(string command, MomentResult result)
    {
        var summary = new JsonObject
        {
            ["command"] = command,
            ["base"] = Model(result.BaseGreedy, result.BaseSampled),
            ["seconds"] = result.PhaseSeconds.Values.Sum(),
            ["phase_seconds"] = new JsonObject(result.PhaseSeconds.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Round(p.Value)))),
            ["interrupted"] = result.Interrupted,
        };
        var arms = new JsonObject();
        foreach (var arm in result.Arms)
        {
            var node = new JsonObject
            {
                ["rewards"] = arm.Rewards,
                ["steps"] = arm.Steps.Count,
                ["final"] = Model(arm.FinalGreedy, arm.FinalSampled),
                ["curve"] = new JsonArray(arm.Curve.Select(p => (JsonNode)Stats(p.Stats, new JsonObject { ["step"] = p.Step, ["mean_tokens"] = Round(p.MeanTokens) })).ToArray()),
            };
            if (arm.RolloutReflection.Count > 0)
            {
                node["rollouts_first_step"] = Stats(arm.RolloutReflection[0], Scalars(arm.Steps[0]));
                node["rollouts_last_step"] = Stats(arm.RolloutReflection[^1], Scalars(arm.Steps[^1]));
            }
            arms[arm.Name] = node;
        }
        summary["arms"] = arms;
        return summary;
    }

    static JsonObject Model(EvalReport greedy, EvalReport sampled)
    {
        var node = Stats(Reflection(greedy), new JsonObject
        {
            ["mean_tokens"] = Round(greedy.Summary.MeanCompletionTokens ?? double.NaN),
            ["pass_at_k"] = new JsonObject(sampled.Summary.PassAtK.Select(p => KeyValuePair.Create(p.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)Round(p.Value)))),
            ["maj_at_k"] = new JsonObject(sampled.Summary.MajAtK.Select(p => KeyValuePair.Create(p.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)Round(p.Value)))),
        });
        node["sampled"] = Stats(Reflection(sampled), new JsonObject());
        return node;
    }

    static JsonObject Scalars(GrpoStep step) => new(new[] { "reward", "accuracy", "completion_tokens", "reflective_words", "think_fraction" }
        .Select(k => KeyValuePair.Create(k, Round(step[k]))));

    static JsonObject Stats(ReflectionStats stats, JsonObject into)
    {
        into["completions"] = stats.Completions;
        foreach (var (name, value) in stats.Scalars("")) into[name] = Round(value);
        return into;
    }

    static JsonNode? Round(double value) => double.IsFinite(value) ? JsonValue.Create(Math.Round(value, 4)) : null;

    internal static ReflectionStats Reflection(EvalReport report) => ReflectionStats.From(report.Samples.Select(s => (s.Row.Completion, s.Correct)));

    static IReadOnlyList<ReportPlots.Figure> Plots(string dir, MomentResult result)
    {
        var figures = new List<ReportPlots.Figure>();
        if (result.Arms.Count == 0) return figures;
        IReadOnlyList<(double, double)> Curve(MomentArm arm, Func<CurvePoint, double> f) => arm.Curve.Select(p => ((double)p.Step, f(p))).ToList();
        IReadOnlyList<(double, double)> Rollouts(MomentArm arm, Func<ReflectionStats, double> f) =>
            arm.RolloutReflection.Select((s, i) => ((double)arm.Steps[i].Step, f(s))).ToList();
        figures.Add(ReportPlots.Curves(dir, "heldout_accuracy.png", "Held-out greedy accuracy over GRPO steps, per reward", "Held-out accuracy (greedy)", "share correct",
            result.Arms.Select(a => (a.Name, Curve(a, p => p.Stats.Accuracy), false)).ToList()));
        figures.Add(ReportPlots.Curves(dir, "reflection_counts.png", "Behaviour-level reflection of the training rollouts: backtracks and candidates per completion", "Reflection in the rollouts", "per completion",
            result.Arms.SelectMany(a => new[] { ($"{a.Name}: backtracks", Rollouts(a, s => s.BacktracksPerCompletion), false), ($"{a.Name}: candidates", Rollouts(a, s => s.CandidatesPerCompletion), false) }).ToList()));
        figures.Add(ReportPlots.Curves(dir, "reflection_precision.png", "Precision P(correct | reflected) and recall P(reflected | correct) of the rollouts, per reward", "Does reflecting pay? (rollouts)", "probability",
            result.Arms.SelectMany(a => new[] { ($"{a.Name}: precision", Rollouts(a, s => s.Precision), false), ($"{a.Name}: recall", Rollouts(a, s => s.Recall), false) }).ToList()));
        figures.Add(ReportPlots.Curves(dir, "keywords.png", "Keyword rate (wait/check/verify/again per completion) of the rollouts, per reward", "Reflective keywords in the rollouts", "keywords per completion",
            result.Arms.Select(a => (a.Name, Rollouts(a, s => s.KeywordsPerCompletion), false)).ToList()));
        figures.Add(ReportPlots.Curves(dir, "completion_length.png", "Completion length of the rollouts in tokens, per reward", "Completion length (rollouts)", "tokens",
            result.Arms.Select(a => (a.Name, (IReadOnlyList<(double, double)>)a.Steps.Select(s => ((double)s.Step, s["completion_tokens"])).ToList(), false)).ToList()));
        return figures;
    }

    static string Render(string command, IReadOnlyDictionary<string, object> settings, MomentResult result, IReadOnlyList<ReportPlots.Figure> figures)
    {
        var md = new StringBuilder();
        md.AppendLine("# Aha-moment demo: sign puzzles, a retry corpus, GRPO with a verifier and two controls").AppendLine();
        md.AppendLine("## Command").AppendLine().Append(ReportMarkdown.Fence(command)).AppendLine();
        md.AppendLine("## Settings").AppendLine();
        ReportMarkdown.Table(md, ["setting", "value"], settings.Select(s => new[] { s.Key, $"`{Convert.ToString(s.Value, CultureInfo.InvariantCulture)}`" }), numeric: false);

        md.AppendLine("## Held-out results (greedy unless marked)").AppendLine();
        md.AppendLine("Reflected = the completion rejected a candidate and tried another (parsed, not keywords). Precision = P(correct | reflected), recall = P(reflected | correct), as oat-zero reports them.").AppendLine();
        var models = new List<(string Name, EvalReport Greedy, EvalReport Sampled)> { ("base", result.BaseGreedy, result.BaseSampled) };
        models.AddRange(result.Arms.Select(a => ($"after GRPO: {a.Name}", a.FinalGreedy, a.FinalSampled)));
        var k = result.BaseSampled.Summary.PassAtK.Keys.DefaultIfEmpty(1).Max();
        ReportMarkdown.Table(md, ["model", "accuracy", $"pass@{k} (sampled)", $"maj@{k}", "tokens", "keywords", "reflected", "candidates", "checks", "backtracks", "wrong values", "precision", "recall", "acc. not reflected"],
            models.Select(m =>
            {
                var s = Reflection(m.Greedy);
                return new[]
                {
                    m.Name, P(s.Accuracy), P(m.Sampled.Summary.PassAtK.GetValueOrDefault(k, double.NaN)), P(m.Sampled.Summary.MajAtK.GetValueOrDefault(k, double.NaN)),
                    N(m.Greedy.Summary.MeanCompletionTokens ?? double.NaN, "F1"), N(s.KeywordsPerCompletion, "F2"), P(s.ReflectedShare), N(s.CandidatesPerCompletion, "F2"),
                    N(s.ChecksPerCompletion, "F2"), N(s.BacktracksPerCompletion, "F2"), P(s.WrongValueShare), P(s.Precision), P(s.Recall), P(s.AccuracyNotReflected),
                };
            }));
        md.AppendLine("Sampled completions (T 0.6), the same measures:").AppendLine();
        ReportMarkdown.Table(md, ["model", "accuracy", "reflected", "backtracks", "precision", "recall", "acc. not reflected", "keyword precision"],
            models.Select(m =>
            {
                var s = Reflection(m.Sampled);
                return new[] { m.Name, P(s.Accuracy), P(s.ReflectedShare), N(s.BacktracksPerCompletion, "F2"), P(s.Precision), P(s.Recall), P(s.AccuracyNotReflected), P(s.KeywordPrecision) };
            }));

        foreach (var arm in result.Arms)
        {
            md.AppendLine($"## Over GRPO steps: {arm.Name} ({arm.Rewards})").AppendLine();
            md.AppendLine($"Held-out curve (first {arm.Curve[0].Stats.Completions} problems, greedy):").AppendLine();
            ReportMarkdown.Table(md, ["step", "accuracy", "tokens", "keywords", "reflected", "backtracks", "precision", "recall", "acc. not reflected"],
                arm.Curve.Select(p => new[] { p.Step.ToString(CultureInfo.InvariantCulture), P(p.Stats.Accuracy), N(p.MeanTokens, "F1"), N(p.Stats.KeywordsPerCompletion, "F2"),
                    P(p.Stats.ReflectedShare), N(p.Stats.BacktracksPerCompletion, "F2"), P(p.Stats.Precision), P(p.Stats.Recall), P(p.Stats.AccuracyNotReflected) }));
            md.AppendLine("Training rollouts (mean over windows of steps):").AppendLine();
            var stride = Math.Max(1, (int)Math.Ceiling(arm.Steps.Count / 8.0));
            var windows = arm.Steps.Select((s, i) => (Step: s, Stats: arm.RolloutReflection[i])).Chunk(stride);
            ReportMarkdown.Table(md, ["steps", "reward", "accuracy", "tokens", "keywords", "reflected", "backtracks", "precision", "recall"],
                windows.Select(w => new[]
                {
                    w.Length == 1 ? $"{w[0].Step.Step}" : $"{w[0].Step.Step}–{w[^1].Step.Step}", N(Mean(w.Select(x => x.Step["reward"])), "F3"), P(Mean(w.Select(x => x.Stats.Accuracy))),
                    N(Mean(w.Select(x => x.Step["completion_tokens"])), "F1"), N(Mean(w.Select(x => x.Stats.KeywordsPerCompletion)), "F2"), P(Mean(w.Select(x => x.Stats.ReflectedShare))),
                    N(Mean(w.Select(x => x.Stats.BacktracksPerCompletion)), "F2"), P(Mean(w.Select(x => x.Stats.Precision))), P(Mean(w.Select(x => x.Stats.Recall))),
                }));
        }

        if (figures.Count > 0)
        {
            md.AppendLine("## Plots").AppendLine();
            foreach (var figure in figures) md.AppendLine($"![{figure.Caption}]({figure.File})").AppendLine();
        }
        Examples(md, result);
        Time(md, result.PhaseSeconds);
        md.AppendLine("## What the measures mean").AppendLine();
        md.AppendLine("- **keywords**: wait / check / verify / again per completion (`ReflectiveWords`), the crude measure of `aha demo`.");
        md.AppendLine("- **candidates**: sign patterns the reasoning evaluated (`3+7-5+2=7`); **checks**: candidates explicitly compared with the target and rejected (`, not 13`); **backtracks**: candidates tried after a rejection.");
        md.AppendLine("- **wrong values**: share of evaluated candidates whose written value is wrong: a check that looks like one but was not done.");
        md.AppendLine("- **reflected**: at least one backtrack. **precision** P(correct | reflected), **recall** P(reflected | correct), **acc. not reflected** P(correct | no backtrack).");
        md.AppendLine("- Each reward's own report (steps, plots, samples) is in its folder: " + string.Join(", ", result.Arms.Select(a => $"[{a.Name}]({a.Name}/report.md)")) + ".");
        return md.ToString();
    }

    // Greedy traces of the same held-out problems, base then each arm; problems whose verdict the verifier run changed come first.
    static void Examples(StringBuilder md, MomentResult result)
    {
        if (result.Arms.Count == 0) return;
        md.AppendLine("## Example traces, before and after (greedy, same problems)").AppendLine();
        var first = result.Arms[0].FinalGreedy.Samples;
        var order = Enumerable.Range(0, Math.Min(result.BaseGreedy.Samples.Count, first.Count))
            .OrderBy(i => (result.BaseGreedy.Samples[i].Correct, first[i].Correct) switch { (false, true) => 0, (true, false) => 1, _ => 2 })
            .Take(ExampleTraces).ToList();
        var rows = new List<string[]>();
        foreach (var i in order)
        {
            var b = result.BaseGreedy.Samples[i];
            rows.Add([$"`{b.Row.Answer}`", "base", Trace(b)]);
            foreach (var arm in result.Arms) rows.Add(["", arm.Name, Trace(arm.FinalGreedy.Samples[i])]);
        }
        ReportMarkdown.Table(md, ["puzzle", "model", "completion"], rows, numeric: false);
    }

    static string Trace(ScoredSample sample) => $"{(sample.Correct ? "✓" : "✗")} `{sample.Row.Completion.Trim().Replace("`", "'").Replace("\n", " ")}`";

    static void Time(StringBuilder md, IReadOnlyDictionary<string, double> phases)
    {
        if (phases.Count == 0) return;
        md.AppendLine("## Time").AppendLine();
        var rows = phases.Select(p => new[] { p.Key, ReportMarkdown.Duration(p.Value) }).ToList();
        rows.Add(["**total**", $"**{ReportMarkdown.Duration(phases.Values.Sum())}**"]);
        ReportMarkdown.Table(md, ["phase", "wall clock"], rows);
    }

    static double Mean(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        return finite.Count == 0 ? double.NaN : finite.Average();
    }

    static string P(double v) => ReportMarkdown.Percent(v);
    static string N(double v, string format) => ReportMarkdown.Number(v, format);

    static void WriteAtomically(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
