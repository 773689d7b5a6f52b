using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aha.Eval;

/// <summary>
/// Writes a report as <c>samples.jsonl</c> (every input row plus extracted, correct, reward), <c>problems.jsonl</c>
/// and <c>summary.json</c>. Each file is written to a temporary name and moved into place, so an interrupted run
/// never leaves a half-written file.
/// </summary>
public static class ReportFiles
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // Completions are full of < > + ' which the default encoder escapes for HTML; these files are read by people and jq.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static readonly JsonSerializerOptions JsonLine = new(Json) { WriteIndented = false };

    public static void Write(string directory, EvalReport report)
    {
        Directory.CreateDirectory(directory);
        WriteAtomically(Path.Combine(directory, "samples.jsonl"), report.Samples.Select(SampleLine));
        WriteAtomically(Path.Combine(directory, "problems.jsonl"), report.Problems.Select(p => JsonSerializer.Serialize(p, JsonLine)));
        WriteAtomically(Path.Combine(directory, "summary.json"), [JsonSerializer.Serialize(report.Summary, Json)]);
    }

    public static EvalSummary ReadSummary(string path) =>
        JsonSerializer.Deserialize<EvalSummary>(File.ReadAllText(path), Json)
        ?? throw new InvalidDataException($"{path}: empty summary. Re-run the scoring that wrote it.");

    static string SampleLine(ScoredSample s)
    {
        var row = new JsonObject { ["id"] = s.Row.Id, ["answer"] = s.Row.Answer };
        if (s.Row.Prompt is not null) row["prompt"] = s.Row.Prompt;
        row["completion"] = s.Row.Completion;
        if (s.Row.Tokens is not null) row["tokens"] = s.Row.Tokens;
        if (s.Row.Truncated) row["truncated"] = true;
        row["extracted"] = s.Extracted;
        row["correct"] = s.Correct;
        row["reward"] = s.Reward;
        return row.ToJsonString(JsonLine);
    }

    static void WriteAtomically(string path, IEnumerable<string> lines)
    {
        var temporary = path + ".tmp";
        File.WriteAllLines(temporary, lines);
        File.Move(temporary, path, overwrite: true);
    }
}
