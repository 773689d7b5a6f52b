using ScottPlot;

namespace Aha.Reports;

/// <summary>The reward-model and PPO runs' PNG plots, from their metrics rows (step → scalars).</summary>
public static class RlhfPlots
{
    /// <summary>A line per named scalar over steps (left axis), and optionally per scalar on the right axis; writes <paramref name="path"/>.</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<(long Step, IReadOnlyDictionary<string, double> Scalars)> rows,
        IReadOnlyList<(string Scalar, string Legend)> left, IReadOnlyList<(string Scalar, string Legend)>? right = null, string? rightLabel = null)
    {
        using var plot = ReportPlots.Frame(title, yLabel, xLabel);
        foreach (var (scalar, legend) in left) Line(plot, rows, scalar, legend, plot.Axes.Left);
        foreach (var (scalar, legend) in right ?? []) Line(plot, rows, scalar, legend, plot.Axes.Right);
        if (rightLabel is not null) plot.Axes.Right.Label.Text = rightLabel;
        if (left.Count + (right?.Count ?? 0) > 1) plot.ShowLegend(Alignment.UpperLeft);
        ReportPlots.SaveAtomically(plot, path);
    }

    static void Line(Plot plot, IReadOnlyList<(long Step, IReadOnlyDictionary<string, double> Scalars)> rows, string scalar, string legend, IYAxis axis)
    {
        // Steps without the value (not computed) leave a gap rather than a made-up point.
        var points = rows.Where(r => r.Scalars.TryGetValue(scalar, out var v) && double.IsFinite(v)).ToList();
        if (points.Count == 0) return;
        var line = plot.Add.Scatter(points.Select(r => (double)r.Step).ToArray(), points.Select(r => r.Scalars[scalar]).ToArray());
        line.LegendText = legend;
        line.LineWidth = 2;
        line.MarkerSize = points.Count <= 30 ? 5 : 0;
        line.Axes.YAxis = axis;
    }
}
