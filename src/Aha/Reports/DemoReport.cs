using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Eval;

namespace Aha.Reports;

/// <summary>
/// Writes the report folder of <c>aha demo</c>: <c>report.md</c> (settings, before/after, time, GRPO progress, sample
/// completions, glossary), PNG plots beside it, <c>summary.json</c> with the headline numbers for scripts, and
/// <c>report_input.json</c> (the input less the steps) for <see cref="Regenerate"/>.
/// Every file is written under a temporary name and moved into place, so an interrupted write never leaves half a file.
/// </summary>
public static class DemoReport
{
    public const string MarkdownFile = "report.md";
    public const string SummaryFile = "summary.json";

    /// <summary>Writes the folder (created if missing; files of an earlier report are replaced) and returns the path of report.md.</summary>
    public static string Write(string dir, DemoReportInput input)
    {
        if (input.SampleProblems < 0) throw new ArgumentException($"SampleProblems must be ≥ 0 (0 shows none), got {input.SampleProblems}.", nameof(input));
        var before = ModelMetrics.From(input.Base);
        var after = ModelMetrics.From(input.Final);
        Directory.CreateDirectory(dir);

        // Plots first: report.md links to them, and summary.json last marks the folder complete for anything watching it.
        var figures = ReportPlots.Write(dir, input.Steps, before, after);
        var markdown = Path.Combine(dir, MarkdownFile);
        WriteAtomically(markdown, ReportMarkdown.Render(input, before, after, figures));
        WriteAtomically(Path.Combine(dir, ReportInputFile.Name), ReportInputFile.Serialize(input));
        WriteAtomically(Path.Combine(dir, SummaryFile), Summary(input, before, after).ToJsonString(ReportFiles.Json) + "\n");
        return markdown;
    }

    /// <summary>
    /// Rebuilds a report folder written by <see cref="Write"/> from its saved input and the run's metrics.jsonl, so a
    /// report can be regenerated (<c>aha report --run DIR</c>) without training or evaluating again.
    /// </summary>
    public static string Regenerate(string dir, string metricsPath)
    {
        var input = ReportInputFile.Read(Path.Combine(dir, ReportInputFile.Name), MetricsReader.Read(metricsPath));
        return Write(dir, input);
    }

    /// <summary>
    /// The summary.json object: <c>base</c> and <c>final</c> (<see cref="ModelMetrics"/> in snake_case, pass@k keyed by k),
    /// total <c>seconds</c>, <c>phase_seconds</c>, GRPO <c>steps</c>, the first and last step's scalars, and <c>settings</c>.
    /// </summary>
    public static JsonObject Summary(DemoReportInput input, ModelMetrics before, ModelMetrics after)
    {
        var summary = new JsonObject
        {
            ["title"] = input.Title,
            ["command"] = input.Command,
            ["base"] = JsonSerializer.SerializeToNode(before, ReportFiles.Json),
            ["final"] = JsonSerializer.SerializeToNode(after, ReportFiles.Json),
            ["seconds"] = input.PhaseSeconds.Values.Sum(),
            ["phase_seconds"] = new JsonObject(input.PhaseSeconds.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            ["steps"] = input.Steps.Count,
            ["settings"] = ReportInputFile.Settings(input.Settings),
        };
        if (input.Steps.Count > 0)
        {
            summary["first_step"] = Scalars(input.Steps[0].Scalars);
            summary["last_step"] = Scalars(input.Steps[^1].Scalars);
        }
        return summary;
    }

    // JSON has no NaN: a scalar that was not finite is written as null, as MetricsLog does.
    static JsonObject Scalars(IReadOnlyDictionary<string, double> scalars) =>
        new(scalars.Select(s => KeyValuePair.Create(s.Key, double.IsFinite(s.Value) ? JsonValue.Create(s.Value) : (JsonNode?)null)));

    static void WriteAtomically(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
