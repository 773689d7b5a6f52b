using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Reports;

namespace Aha.Pipeline;

/// <summary>
/// The report of <c>aha pipeline r1</c>: <c>report.md</c> with one row per stage (the model after that stage on the same
/// held-out problems), what each stage did (rejection counts per filter, reward-model agreement, first and last GRPO
/// step), example completions, time per stage; and <c>summary.json</c> with the same numbers for scripts.
/// </summary>
public static class PipelineReport
{
    public const string MarkdownFile = "report.md";
    public const string SummaryFile = "summary.json";

    static readonly string[] Titles = ["base", "1 cold start (SFT)", "2 reasoning RL (GRPO)", "3 rejection sampling + SFT from base", "4 all-scenario RL (GRPO, rules + RM)"];

    /// <summary>Writes both files (atomically) and returns the path of report.md.</summary>
    public static string Write(string dir, string command, R1PipelineOptions options, PipelineResult result, IReadOnlyDictionary<string, object> settings)
    {
        Directory.CreateDirectory(dir);
        var md = new StringBuilder();
        md.AppendLine("# Aha: DeepSeek-R1's pipeline at toy scale").AppendLine();
        md.AppendLine("## Command").AppendLine().Append(ReportMarkdown.Fence(command)).AppendLine();
        md.AppendLine("## Settings").AppendLine();
        ReportMarkdown.Table(md, ["setting", "value"], settings.Select(s => new[] { s.Key, Convert.ToString(s.Value, CultureInfo.InvariantCulture) ?? "" }), numeric: false);
        int k = options.Samples;
        md.AppendLine("## The model after each stage").AppendLine();
        md.AppendLine($"The same {options.EvalProblems} held-out addition problems for every row: accuracy, length, think, format and language from one greedy " +
            $"completion each; pass@{k} and maj@{k} from {k} samples on the first {options.SampledProblems} at T 0.6, top-p 0.95. General: " +
            $"{options.GeneralEvalProblems} held-out plain questions (\"Which is larger, 47 or 38?\"), right only when answered without a <think> block.").AppendLine();
        ReportMarkdown.Table(md, ["stage", "accuracy", $"pass@{k}", $"maj@{k}", "tokens", "think", "format", "language", "general acc", "general think", "time"],
            result.Stages.Select(s => new[]
            {
                Titles[s.Stage], Pct(s.Metrics.Accuracy), Pct(s.Metrics.PassAtK), Pct(s.Metrics.MajAtK), Num(s.Metrics.MeanTokens, "F1"),
                Pct(s.Metrics.ThinkFraction), Pct(s.Metrics.FormatFraction), Num(s.Metrics.Language, "F3"), Pct(s.Metrics.GeneralAccuracy),
                Pct(s.Metrics.GeneralThink), ReportMarkdown.Duration(s.Seconds) + (s.Skipped ? " (earlier run)" : ""),
            }));
        if (result.Stages.Count > 0)
        {
            IReadOnlyList<(double X, double Y)> Series(Func<StageMetrics, double?> value) =>
                result.Stages.Select(s => ((double)s.Stage, value(s.Metrics) ?? double.NaN)).ToList();
            var figure = ReportPlots.Curves(dir, "stages.png", "held-out numbers after each stage", "The model after each stage (0 = base)", "share of held-out problems",
            [
                ("reasoning accuracy (greedy)", Series(m => m.Accuracy), false), ($"pass@{k}", Series(m => m.PassAtK), false),
                ("think share", Series(m => m.ThinkFraction), false), ("format share", Series(m => m.FormatFraction), false),
                ("general accuracy", Series(m => m.GeneralAccuracy), false), ("general think share", Series(m => m.GeneralThink), false),
            ], xLabel: "stage");
            md.AppendLine($"![{figure.Caption}]({figure.File})").AppendLine();
        }
        if (result.Interrupted) md.AppendLine($"**Interrupted** after {result.Stages.Count} of {R1Pipeline.StageNames.Count} stages; rerun the same command to continue.").AppendLine();
        md.AppendLine("## What each stage did").AppendLine();
        foreach (var s in result.Stages)
        {
            md.AppendLine($"### Stage {s.Stage}: {Titles[s.Stage].TrimStart('0', '1', '2', '3', '4', ' ')}").AppendLine();
            md.AppendLine($"Checkpoint `{s.Checkpoint}`.").AppendLine();
            var details = (JsonObject)s.Details.DeepClone();
            if (details["rejected"] is JsonObject rejected)
            {
                details.Remove("rejected");
                ReportMarkdown.Table(md, ["rejection filter (in order)", "samples rejected"], rejected.Select(r => new[] { r.Key, r.Value?.ToJsonString() ?? "-" })
                    .Append([$"**kept** (of {details["sampled"]})", details["kept"]?.ToJsonString() ?? "-"]));
            }
            var examples = details["examples"] as JsonArray;
            details.Remove("examples");
            md.Append(ReportMarkdown.Fence(details.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))).AppendLine();
            if (examples is not null)
                foreach (var e in examples.OfType<JsonObject>())
                    md.AppendLine($"- `{Line(e["prompt"])}` → `{Line(e["completion"])}` ({((bool?)e["correct"] == true ? "right" : "wrong")}, gold {e["gold"]})");
            md.AppendLine();
        }
        md.AppendLine($"Total {ReportMarkdown.Duration(result.Stages.Sum(s => s.Seconds))} over the stages (stages from an earlier run count their own time).").AppendLine();

        string markdown = Path.Combine(dir, MarkdownFile);
        Durable.ReplaceText(markdown, md.ToString());
        Durable.ReplaceText(Path.Combine(dir, SummaryFile), Summary(command, result).ToJsonString(ReportFiles.Json) + "\n");
        return markdown;
    }

    /// <summary>The summary.json object: each stage's name, metrics, details and seconds; NaN as null.</summary>
    public static JsonObject Summary(string command, PipelineResult result) => new()
    {
        ["command"] = command,
        ["interrupted"] = result.Interrupted,
        ["seconds"] = Math.Round(result.Seconds, 1),
        ["stages"] = new JsonArray(result.Stages.Select(s => (JsonNode)new JsonObject
        {
            ["stage"] = s.Stage, ["name"] = s.Name, ["checkpoint"] = s.Checkpoint, ["seconds"] = Math.Round(s.Seconds, 1), ["skipped"] = s.Skipped,
            ["metrics"] = JsonSerializer.SerializeToNode(s.Metrics, ReportFiles.Json), ["details"] = s.Details.DeepClone(),
        }).ToArray()),
    };

    static string Line(JsonNode? text)
    {
        string s = (text?.GetValue<string>() ?? "").Replace("\n", "\\n", StringComparison.Ordinal).Replace("`", "'", StringComparison.Ordinal);
        return s.Length > 240 ? s[..240] + "…" : s;
    }

    static string Pct(double? share) => share is { } v ? ReportMarkdown.Percent(v) : "-";
    static string Num(double? value, string format) => value is { } v ? ReportMarkdown.Number(v, format) : "-";
}
