using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Eval;
using Aha.Training;

namespace Aha.Reports;

/// <summary>
/// Saves everything of a <see cref="DemoReportInput"/> but its steps (those live in the run's metrics.jsonl) beside the
/// report, so <c>aha report</c> can rebuild the folder later, e.g. after the report code improves, without re-running.
/// </summary>
static class ReportInputFile
{
    public const string Name = "report_input.json";

    public static string Serialize(DemoReportInput input) => new JsonObject
    {
        ["title"] = input.Title,
        ["command"] = input.Command,
        ["sample_problems"] = input.SampleProblems,
        ["settings"] = Settings(input.Settings),
        ["phase_seconds"] = new JsonObject(input.PhaseSeconds.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        ["base"] = JsonSerializer.SerializeToNode(input.Base, ReportFiles.Json),
        ["final"] = JsonSerializer.SerializeToNode(input.Final, ReportFiles.Json),
    }.ToJsonString(ReportFiles.JsonLine) + "\n";

    /// <summary>Settings as a JSON object, each value as its own JSON type (a number stays a number).</summary>
    public static JsonObject Settings(IReadOnlyDictionary<string, object> settings) =>
        new(settings.Select(s => KeyValuePair.Create(s.Key, JsonSerializer.SerializeToNode(s.Value, s.Value.GetType(), ReportFiles.Json))));

    public static DemoReportInput Read(string path, IReadOnlyList<GrpoStep> steps)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: not found; only report folders written by `aha demo` can be regenerated.", path);
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new InvalidDataException($"{path}: empty file.");
            T Field<T>(string name) => root[name].Deserialize<T>(ReportFiles.Json) ?? throw new InvalidDataException($"{path}: field '{name}' is missing.");
            return new DemoReportInput
            {
                Title = Field<string>("title"),
                Command = Field<string>("command"),
                SampleProblems = Field<int>("sample_problems"),
                Settings = Field<Dictionary<string, JsonElement>>("settings").ToDictionary(s => s.Key, s => Primitive(s.Value)),
                PhaseSeconds = Field<Dictionary<string, double>>("phase_seconds"),
                Base = Field<ModelEvaluation>("base"),
                Final = Field<ModelEvaluation>("final"),
                Steps = steps,
            };
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: unreadable ({e.Message}); re-run `aha demo` to write it again.", e);
        }
    }

    // Back to the CLR values the demo passed in, so settings render the same in a regenerated report.
    static object Primitive(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number when value.TryGetInt64(out var whole) => whole,
        JsonValueKind.Number => value.GetDouble(),
        _ => value.GetRawText(),
    };
}
