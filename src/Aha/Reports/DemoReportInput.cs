using Aha.Training;

namespace Aha.Reports;

/// <summary>Everything <see cref="DemoReport.Write"/> needs from a finished <c>aha demo</c> run.</summary>
public sealed record DemoReportInput
{
    /// <summary>The command line that produced the run, shown so the reader can reproduce it.</summary>
    public required string Command { get; init; }

    /// <summary>Settings by name (model size, steps, group size, …), in the order to show them; values are strings, numbers or booleans.</summary>
    public required IReadOnlyDictionary<string, object> Settings { get; init; }

    /// <summary>The pretrained model before GRPO.</summary>
    public required ModelEvaluation Base { get; init; }

    /// <summary>The model after GRPO, evaluated on the same problems with the same seeds.</summary>
    public required ModelEvaluation Final { get; init; }

    /// <summary>The GRPO steps in order (from the trainer, or read back with <see cref="MetricsReader"/>); may be empty.</summary>
    public required IReadOnlyList<GrpoStep> Steps { get; init; }

    /// <summary>Wall-clock seconds per phase (e.g. pretrain, eval_base, grpo, eval_final), in the order to show them.</summary>
    public required IReadOnlyDictionary<string, double> PhaseSeconds { get; init; }

    public string Title { get; init; } = "Aha demo: pretraining, then GRPO (R1-Zero style)";

    /// <summary>How many problems to show before and after; problems whose verdict changed come first.</summary>
    public int SampleProblems { get; init; } = 3;
}
