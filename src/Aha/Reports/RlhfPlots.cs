using Aha.Training;
using ScottPlot;

namespace Aha.Reports;

/// <summary>The reward-model and PPO runs' PNG plots, from their metrics rows (step → scalars).</summary>
public static class RlhfPlots
{
    /// <summary>A line per named scalar over steps (left axis), and optionally per scalar on the right axis; writes <paramref name="path"/>.</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<(long Step, IReadOnlyDictionary<string, double> Scalars)> rows,
        IReadOnlyList<(string Scalar, string Legend)> left, IReadOnlyList<(string Scalar, string Legend)>? right = null, string? rightLabel = null)
    {
        // The shared step plot draws these too; a step without a scalar reads NaN there and leaves a gap, as before.
        var steps = rows.Select(r => new GrpoStep(r.Step, r.Scalars, [])).ToList();
        // RM accuracy and PPO score start low and rise toward the upper right, so the legend sits upper left.
        using var plot = ReportPlots.Steps(title, yLabel, steps, left, xLabel, right, rightLabel, Alignment.UpperLeft);
        ReportPlots.SaveAtomically(plot, path);
    }
}
