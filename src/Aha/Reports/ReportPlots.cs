using System.Globalization;
using Aha.Training;
using ScottPlot;

namespace Aha.Reports;

/// <summary>The demo's PNG plots: GRPO curves over steps, and base vs final accuracy as bars.</summary>
static class ReportPlots
{
    public const int Width = 800;
    public const int Height = 450;

    /// <summary>A written plot: its file name in the report folder and what it shows.</summary>
    public sealed record Figure(string File, string Caption);

    /// <summary>Writes every plot into <paramref name="dir"/>; the step plots only when there are steps.</summary>
    public static IReadOnlyList<Figure> Write(string dir, IReadOnlyList<GrpoStep> steps, ModelMetrics before, ModelMetrics after)
    {
        var figures = new List<Figure>();
        void Save(Plot plot, string file, string caption)
        {
            using (plot) SaveAtomically(plot, Path.Combine(dir, file));
            figures.Add(new Figure(file, caption));
        }

        Save(BeforeAfter(before, after), "accuracy_before_after.png", "Held-out accuracy, base vs after GRPO");
        if (steps.Count == 0) return figures;

        var rewardNames = steps[0].Scalars.Keys.Where(k => k.StartsWith("reward_", StringComparison.Ordinal) && k != "reward_std").Order(StringComparer.Ordinal).ToList();
        Save(Steps("GRPO reward per step", "mean reward of the step's rollouts", steps,
            [("reward", "total (weighted sum)"), .. rewardNames.Select(n => (n, n["reward_".Length..]))]), "reward.png", "Reward: total and per reward function");
        Save(Steps("GRPO training accuracy", "share of rollouts correct", steps, [("accuracy", "accuracy")]), "accuracy.png", "Accuracy of the training rollouts");
        Save(Steps("Completion length", "tokens", steps, [("completion_tokens", "mean"), ("completion_tokens_max", "max")]), "completion_length.png", "Completion length in tokens, mean and max");
        Save(Steps("KL divergence to the reference model", "KL (k3 estimate, per token)", steps, [("kl", "KL")]), "kl.png", "KL to the reference model");
        Save(Reasoning(steps), "reasoning.png", "Think fraction and reflective words per completion");
        return figures;
    }

    /// <summary>
    /// One plot of named series over GRPO steps (e.g. one line per reward arm), written as <paramref name="file"/>;
    /// series on the right axis carry <c>Right = true</c>. Non-finite points are left out, as in the step plots.
    /// </summary>
    public static Figure Curves(string dir, string file, string caption, string title, string yLabel,
        IReadOnlyList<(string Legend, IReadOnlyList<(double X, double Y)> Points, bool Right)> series, string? rightLabel = null, string xLabel = "GRPO step")
    {
        using var plot = Frame(title, yLabel, xLabel);
        foreach (var (legend, points, right) in series)
        {
            var finite = points.Where(p => double.IsFinite(p.Y)).ToList();
            if (finite.Count == 0) continue;
            var line = plot.Add.Scatter(finite.Select(p => p.X).ToArray(), finite.Select(p => p.Y).ToArray());
            line.LegendText = legend;
            line.LineWidth = 2;
            line.MarkerSize = finite.Count <= 30 ? 5 : 0;
            if (right) line.Axes.YAxis = plot.Axes.Right;
        }
        if (rightLabel is not null) plot.Axes.Right.Label.Text = rightLabel;
        plot.ShowLegend(Alignment.UpperLeft);
        SaveAtomically(plot, Path.Combine(dir, file));
        return new Figure(file, caption);
    }

    /// <summary>Any trainer's curves over steps (one PNG each, atomically), e.g. DPO's rewards and held-out accuracy; a plot with no finite point is left out.</summary>
    public static IReadOnlyList<Figure> Curves(string dir, string xLabel,
        IEnumerable<(string File, string Title, string YLabel, IReadOnlyList<GrpoStep> Rows, IReadOnlyList<(string Scalar, string Legend)> Series)> plots)
    {
        var figures = new List<Figure>();
        foreach (var (file, title, yLabel, rows, series) in plots)
        {
            if (!series.Any(s => rows.Any(r => double.IsFinite(r[s.Scalar])))) continue;
            using (var plot = Steps(title, yLabel, rows, series, xLabel)) SaveAtomically(plot, Path.Combine(dir, file));
            figures.Add(new Figure(file, title));
        }
        return figures;
    }

    /// <summary>
    /// Lines over steps on the left axis, and optionally on a right axis with its own label (a proxy beside the truth, KL beside length).
    /// The legend goes where the caller's curves leave room: GRPO curves mostly rise, leaving the lower right empty.
    /// </summary>
    internal static Plot Steps(string title, string yLabel, IReadOnlyList<GrpoStep> steps, IReadOnlyList<(string Scalar, string Legend)> series, string xLabel = "GRPO step",
        IReadOnlyList<(string Scalar, string Legend)>? right = null, string? rightLabel = null, Alignment legendAt = Alignment.LowerRight)
    {
        var plot = Frame(title, yLabel, xLabel);
        foreach (var (scalar, legend) in series) Line(plot, steps, scalar, legend, plot.Axes.Left);
        foreach (var (scalar, legend) in right ?? []) Line(plot, steps, scalar, legend, plot.Axes.Right);
        if (rightLabel is not null) plot.Axes.Right.Label.Text = rightLabel;
        if (series.Count + (right?.Count ?? 0) > 1) plot.ShowLegend(legendAt);
        return plot;
    }

    // Two scales on one plot (a fraction and a count) so the reader can see whether thinking and reflecting rise together.
    static Plot Reasoning(IReadOnlyList<GrpoStep> steps) =>
        Steps("Reasoning habits of the rollouts", "share of completions with <think>", steps, [("think_fraction", "think fraction (left axis)")],
            right: [("reflective_words", "reflective words per completion (right axis)")], rightLabel: "wait/check/verify/again per completion");

    static Plot BeforeAfter(ModelMetrics before, ModelMetrics after)
    {
        var categories = new List<(string Label, double Before, double After)> { ("greedy pass@1", before.Accuracy, after.Accuracy) };
        if (before.PassAtK.Keys.Intersect(after.PassAtK.Keys).DefaultIfEmpty().Max() is var k and > 1)
        {
            categories.Add(($"pass@{k}", before.PassAtK[k], after.PassAtK[k]));
            if (before.MajAtK.ContainsKey(k) && after.MajAtK.ContainsKey(k)) categories.Add(($"maj@{k}", before.MajAtK[k], after.MajAtK[k]));
        }

        var plot = Frame("Held-out accuracy before and after GRPO", "accuracy (%)");
        plot.XLabel("");
        var baseColor = Colors.Gray;
        var finalColor = new Color(31, 119, 180);
        var bars = new List<Bar>();
        for (var i = 0; i < categories.Count; i++)
        {
            var (_, b, a) = categories[i];
            bars.Add(new Bar { Position = 3 * i, Value = 100 * b, FillColor = baseColor, Label = Percent(b) });
            bars.Add(new Bar { Position = 3 * i + 1, Value = 100 * a, FillColor = finalColor, Label = Percent(a) });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(categories.Select((_, i) => 3.0 * i + 0.5).ToArray(), categories.Select(c => c.Label).ToArray());
        plot.Axes.SetLimitsY(0, 110); // room above a 100% bar for its label
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "base (pretrained)", FillColor = baseColor });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "after GRPO", FillColor = finalColor });
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    internal static Plot Frame(string title, string yLabel, string xLabel = "GRPO step")
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot;
    }

    static void Line(Plot plot, IReadOnlyList<GrpoStep> steps, string scalar, string legend, IYAxis axis)
    {
        // Skipped or diverged steps log NaN; a gap is more honest than a line drawn through a made-up value.
        var points = steps.Where(s => double.IsFinite(s[scalar])).ToList();
        if (points.Count == 0) return;
        var line = plot.Add.Scatter(points.Select(s => (double)s.Step).ToArray(), points.Select(s => s[scalar]).ToArray());
        line.LegendText = legend;
        line.LineWidth = 2;
        line.MarkerSize = points.Count <= 30 ? 5 : 0; // markers help only while steps are few enough to tell apart
        line.Axes.YAxis = axis;
    }

    static string Percent(double share) => (100 * share).ToString("F0", CultureInfo.InvariantCulture) + "%";

    // ScottPlot writes by path; a temporary name then a move keeps a half-written PNG from ever sitting under the real name.
    internal static void SaveAtomically(Plot plot, string path)
    {
        var temporary = Path.ChangeExtension(path, ".tmp.png");
        plot.SavePng(temporary, Width, Height);
        File.Move(temporary, path, overwrite: true);
    }
}
