using System.Text.Json.Nodes;
using Aha.Eval;
using Aha.Training;

namespace Aha.Cli.Commands;

/// <summary>summary.json of a demo run; returns it as one JSON line.</summary>
static class DemoSummary
{
    public static string Write(string dir, DemoOptions options, DemoResult result)
    {
        static JsonObject Side(EvalReport greedy, EvalReport sampled) => new()
        {
            ["accuracy"] = Math.Round(greedy.Summary.Accuracy, 4),
            ["mean_completion_tokens"] = greedy.Summary.MeanCompletionTokens is { } t ? Math.Round(t, 2) : null,
            ["think_fraction"] = Math.Round(greedy.Samples.Average(s => s.Row.Completion.Contains("<think>") ? 1.0 : 0.0), 4),
            ["reflective_words"] = Math.Round(greedy.Samples.Average(s => (double)ReflectiveWords.Count(s.Row.Completion)), 4),
            ["pass_at_k"] = new JsonObject(sampled.Summary.PassAtK.Select(kv => KeyValuePair.Create($"{kv.Key}", (JsonNode?)Math.Round(kv.Value, 4)))),
            ["maj_at_k"] = new JsonObject(sampled.Summary.MajAtK.Select(kv => KeyValuePair.Create($"{kv.Key}", (JsonNode?)Math.Round(kv.Value, 4)))),
        };
        var summary = new JsonObject
        {
            ["command"] = "demo",
            ["base"] = Side(result.BaseGreedy, result.BaseSampled),
            ["final"] = Side(result.FinalGreedy, result.FinalSampled),
            ["seconds"] = Math.Round(result.Seconds, 1),
            ["phase_seconds"] = new JsonObject(result.PhaseSeconds.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Math.Round(kv.Value, 1)))),
            ["grpo_steps"] = result.Steps.Count,
            ["pretrain_steps"] = options.PretrainSteps,
            ["interrupted"] = result.Interrupted,
        };
        string path = Path.Combine(dir, "summary.json"), tmp = path + ".tmp";
        File.WriteAllText(tmp, summary.ToJsonString(new() { WriteIndented = true }) + "\n");
        File.Move(tmp, path, overwrite: true);
        return summary.ToJsonString(ReportFiles.JsonLine);
    }
}
