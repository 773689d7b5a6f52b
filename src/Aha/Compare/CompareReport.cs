using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Reports;

namespace Aha.Compare;

/// <summary>A statistic over seeds: the mean and the sample standard deviation (null with one seed).</summary>
public sealed record Spread(double Mean, double? Sd, int Seeds)
{
    public static Spread? Of(IEnumerable<double?> values)
    {
        var v = values.Where(x => x is { } d && double.IsFinite(d)).Select(x => x!.Value).ToList();
        if (v.Count == 0) return null;
        double mean = v.Average();
        return new Spread(mean, v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)) : null, v.Count);
    }

    public JsonObject ToJson() => new() { ["mean"] = Mean, ["sd"] = Sd, ["seeds"] = Seeds };
}

/// <summary>
/// <c>aha compare</c>'s report folder: <c>report.md</c> (the table, mean ± sd over seeds, and each seed's row),
/// <c>accuracy_vs_compute.png</c>, <c>proxy_vs_truth.png</c>, <c>summary.json</c>; the summary's compact form is the command's last line.
/// </summary>
public static class CompareReport
{
    /// <summary>Writes the folder and returns the summary (without the per-seed runs, which summary.json also holds).</summary>
    public static JsonObject Write(string dir, string command, string baseModel, string task, CompareOptions o, IReadOnlyList<RouteResult> results, double seconds)
    {
        var routes = o.Routes.Select(CompareRoutes.Get).ToList();
        var rows = routes.Select(r => (Route: r, Runs: results.Where(x => x.Route == r.Name).ToList())).Where(r => r.Runs.Count > 0).ToList();
        var trainedFlops = rows.Where(r => r.Route.Seeded).SelectMany(r => r.Runs.Select(x => x.Flops)).ToList();
        double? flopsSpread = trainedFlops.Count == 0 ? null : (trainedFlops.Max() - trainedFlops.Min()) / trainedFlops.Min();

        var summary = new JsonObject
        {
            ["command"] = "compare",
            ["task"] = task,
            ["base_model"] = Path.GetFullPath(baseModel),
            ["budget_flops"] = o.Budget,
            ["seeds"] = new JsonArray(o.Seeds.Select(s => (JsonNode)s).ToArray()),
            ["labels"] = o.Labels,
            ["label_noise"] = o.LabelNoise,
            ["length_bias"] = o.LengthBias,
            ["eval_problems"] = o.EvalProblems,
            ["k"] = o.Samples,
            // Largest over smallest spend of every trained route × seed, minus 1: within 0.10 is the issue's bar.
            ["flops_spread"] = flopsSpread,
            ["flops_within_10_percent"] = flopsSpread is { } f ? f <= 0.10 : null,
            ["seconds"] = Math.Round(seconds, 1),
            ["routes"] = new JsonArray(rows.Select(r => (JsonNode)RouteJson(r.Route, r.Runs)).ToArray()),
        };
        var full = (JsonObject)summary.DeepClone();
        full["runs"] = new JsonArray(results.Select(r => (JsonNode)System.Text.Json.JsonSerializer.SerializeToNode(r, RunJson)!).ToArray());
        Durable.ReplaceText(Path.Combine(dir, "summary.json"), full.ToJsonString(ReportFiles.Json));

        var figures = new List<ReportPlots.Figure> { AccuracyPlot(dir, rows, o) };
        if (ProxyPlot(dir, rows) is { } proxy) figures.Add(proxy);
        Durable.ReplaceText(Path.Combine(dir, "report.md"), Markdown(command, baseModel, task, o, rows, flopsSpread, seconds, figures));
        return summary;
    }

    static readonly System.Text.Json.JsonSerializerOptions RunJson = new(ReportFiles.Json) { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower };

    static JsonObject RouteJson(ICompareRoute route, IReadOnlyList<RouteResult> runs)
    {
        JsonNode? S(Func<RouteResult, double?> f) => Spread.Of(runs.Select(f))?.ToJson();
        return new JsonObject
        {
            ["route"] = route.Name,
            ["description"] = route.Description,
            ["seeds"] = runs.Count,
            ["human_labels"] = S(r => r.HumanLabels),
            ["ai_labels"] = S(r => r.AiLabels),
            ["demonstrations"] = S(r => r.Demonstrations),
            ["label_agreement"] = S(r => r.LabelAgreement),
            ["reward_model_agreement"] = S(r => r.RewardModelAgreement),
            ["greedy_accuracy"] = S(r => r.GreedyAccuracy),
            ["pass_at_k"] = S(r => r.PassAtK),
            ["maj_at_k"] = S(r => r.MajAtK),
            ["mean_tokens"] = S(r => r.MeanTokens),
            ["think_share"] = S(r => r.ThinkShare),
            ["reflective_words"] = S(r => r.ReflectiveWords),
            ["hacking_gap"] = S(r => r.HackingGap),
            ["proxy"] = runs.Select(r => r.ProxyName).FirstOrDefault(p => p is not null),
            ["flops"] = S(r => r.Flops),
            ["wall_seconds"] = S(r => r.Seconds),
            ["steps"] = S(r => r.Steps),
        };
    }

    static string Markdown(string command, string baseModel, string task, CompareOptions o, IReadOnlyList<(ICompareRoute Route, List<RouteResult> Runs)> rows,
        double? flopsSpread, double seconds, IReadOnlyList<ReportPlots.Figure> figures)
    {
        var md = new StringBuilder();
        md.AppendLine("# aha compare").AppendLine();
        md.AppendLine($"`{command}` — base `{baseModel}`, task {task}, seeds {string.Join(", ", o.Seeds)}, budget {Sci(o.Budget)} training FLOPs per route " +
            $"(labelling samples and reward-model training charged to the routes that need them; held-out evaluations not charged). " +
            $"Simulated labeler: noise {o.LabelNoise}, length bias {o.LengthBias}, about {o.Labels} labels. " +
            $"Held out: {o.EvalProblems} problems greedy; pass@{o.Samples} and maj@{o.Samples} on the first {o.SampledProblems} at T 0.6, top-p 0.95. " +
            $"Cells are mean ± sd over seeds (the base is deterministic: one run). Wall clock of the whole command: {ReportMarkdown.Duration(seconds)}.").AppendLine();
        md.AppendLine("| route | human / AI labels | label quality: labels / RM vs verifier | greedy accuracy | pass@k | maj@k | mean length (tokens) | think share | reflective words | hacking gap | training FLOPs | wall seconds |");
        md.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (route, runs) in rows)
        {
            string Cell(Func<RouteResult, double?> f, Func<double, string> format) => Spread.Of(runs.Select(f)) is { } s
                ? format(s.Mean) + (s.Sd is { } sd ? " ± " + format(sd) : "") : "—";
            string P(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%";
            string N(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
            // Counts: the mean alone (labels bought are the same for every seed unless identical pairs were skipped).
            string Count(Func<RouteResult, double> f) => runs.Average(f).ToString("F0", CultureInfo.InvariantCulture);
            string labels = $"{Count(r => r.HumanLabels)} / {Count(r => r.AiLabels)}" + (runs[0].Demonstrations > 0 ? $" ({Count(r => r.Demonstrations)} worked solutions)" : "");
            string quality = runs.All(r => r.LabelAgreement is null) ? "—" : $"{Cell(r => r.LabelAgreement, P)} / {Cell(r => r.RewardModelAgreement, P)}";
            md.AppendLine($"| {route.Description} | {labels} | {quality} | {Cell(r => r.GreedyAccuracy, P)} | {Cell(r => r.PassAtK, P)} | {Cell(r => r.MajAtK, P)} | " +
                $"{Cell(r => r.MeanTokens, N)} | {Cell(r => r.ThinkShare, P)} | {Cell(r => r.ReflectiveWords, v => v.ToString("F2", CultureInfo.InvariantCulture))} | " +
                $"{Cell(r => r.HackingGap, v => (100 * v).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + " pt")} | {Cell(r => r.Flops, Sci)} | {Cell(r => r.Seconds, v => v.ToString("F0", CultureInfo.InvariantCulture))} |");
        }
        md.AppendLine();
        md.AppendLine(flopsSpread is { } f
            ? $"Compute: the trained routes' spends differ by {f:P1} at most (largest over smallest − 1; the bar is 10%). Each route stops at the first step that reaches the budget."
            : "Compute: no trained route ran.");
        md.AppendLine();
        md.AppendLine("Columns: *label quality* is the share of the labels that agree with the task's verifier where it decides (one completion right, one wrong), " +
            "then the same for the reward model on held-out labelled pairs. *Hacking gap*: of the last step's rollouts, the share the optimised reward accepts minus the share the verifier accepts " +
            "(R1-Zero: the accuracy reward; RLHF: an RM score above the midpoint of its held-out correct and wrong means); DPO and SFT optimise no reward on their own samples (—). " +
            "*Reflective words*: wait/check/verify/again per greedy completion. *Wall seconds*: training only (loaded machines make them comparable only within a run).").AppendLine();
        foreach (var figure in figures) md.AppendLine($"![{figure.Caption}]({figure.File})").AppendLine();
        md.AppendLine("## Each seed").AppendLine();
        md.AppendLine("| route | seed | steps | greedy | pass@k | maj@k | labels (human/AI) | labels / RM vs verifier | hacking gap | FLOPs | wall s |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
        foreach (var (route, runs) in rows)
            foreach (var r in runs)
                md.AppendLine($"| {route.Name} | {r.Seed} | {r.Steps} | {ReportMarkdown.Percent(r.GreedyAccuracy)} | {ReportMarkdown.Percent(r.PassAtK)} | {ReportMarkdown.Percent(r.MajAtK)} | " +
                    $"{r.HumanLabels}/{r.AiLabels} | {ReportMarkdown.Percent(r.LabelAgreement ?? double.NaN)} / {ReportMarkdown.Percent(r.RewardModelAgreement ?? double.NaN)} | " +
                    $"{ReportMarkdown.Number(100 * (r.HackingGap ?? double.NaN), "+0.0;-0.0;0.0")} | {Sci(r.Flops)} | {r.Seconds:F0} |");
        return md.ToString();
    }

    /// <summary>Greedy accuracy on the curve problems against FLOPs spent, one line per route (mean over seeds, point by point).</summary>
    static ReportPlots.Figure AccuracyPlot(string dir, IReadOnlyList<(ICompareRoute Route, List<RouteResult> Runs)> rows, CompareOptions o)
    {
        var series = new List<(string, IReadOnlyList<(double X, double Y)>, bool)>();
        foreach (var (route, runs) in rows)
        {
            int points = runs.Min(r => r.Curve.Count);
            var line = Enumerable.Range(0, points)
                .Select(i => (X: runs.Average(r => r.Curve[i].Flops) / 1e12, Y: 100 * runs.Average(r => r.Curve[i].Accuracy))).ToList();
            if (!route.Seeded) line = [(0, line[0].Y), (o.Budget / 1e12, line[0].Y)]; // the base: a level to read the others against
            series.Add((route.Description, line, false));
        }
        return ReportPlots.Curves(dir, "accuracy_vs_compute.png", "Held-out greedy accuracy against training compute",
            "Held-out greedy accuracy against training compute (mean over seeds)", $"greedy accuracy, first {o.CurveProblems} held-out problems (%)", series,
            xLabel: "training FLOPs spent (×10¹²)");
    }

    /// <summary>The learned-reward routes' proxy (left) beside the verifier's accuracy of the same rollouts (right), every seed.</summary>
    static ReportPlots.Figure? ProxyPlot(string dir, IReadOnlyList<(ICompareRoute Route, List<RouteResult> Runs)> rows)
    {
        var series = new List<(string, IReadOnlyList<(double X, double Y)>, bool)>();
        foreach (var (route, runs) in rows)
            foreach (var r in runs.Where(r => r.LearnedProxy && r.Proxy.Count > 0))
            {
                series.Add(($"{route.Name} seed {r.Seed}: {r.ProxyName} (left)", r.Proxy.Select(p => (p.Flops / 1e12, p.Proxy)).ToList(), false));
                series.Add(($"{route.Name} seed {r.Seed}: verifier accuracy (right)", r.Proxy.Select(p => (p.Flops / 1e12, p.Truth)).ToList(), true));
            }
        if (series.Count == 0) return null;
        return ReportPlots.Curves(dir, "proxy_vs_truth.png", "Learned-reward routes: the proxy they optimised beside the verifier's accuracy",
            "Proxy reward vs true accuracy of the RL rollouts", "proxy reward (mean per rollout)", series, rightLabel: "verifier accuracy of the same rollouts",
            xLabel: "training FLOPs spent (×10¹²)");
    }

    static string Sci(double v) => v.ToString("0.00e+00", CultureInfo.InvariantCulture);
}
