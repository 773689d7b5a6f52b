using System.Text.Json;
using Aha.Training;

namespace Aha.Reports;

/// <summary>
/// Reads a run's <c>metrics.jsonl</c> (written by <see cref="MetricsLog"/>) back into steps, so a report can be
/// regenerated from a run folder without re-running anything. Rollout texts are not in that file: steps come back
/// with no <see cref="GrpoStep.Samples"/>.
/// </summary>
public static class MetricsReader
{
    /// <param name="phase">Keep only rows of this phase: MetricsLog writes several phases to one file, and step numbers restart in each.</param>
    /// <remarks>
    /// Nulls (MetricsLog writes non-finite values as null) come back as NaN. A blank last line is what an interrupted
    /// run leaves and is skipped; any other unreadable line throws with file:line. A resumed run appends to the same
    /// file, so a step seen twice keeps its last row.
    /// </remarks>
    public static IReadOnlyList<GrpoStep> Read(string path, string phase = "grpo")
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no metrics file; pass the run folder that training wrote metrics.jsonl to.", path);
        var steps = new SortedDictionary<long, GrpoStep>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var (rowPhase, step) = Parse(line, out var scalars, $"{path}:{lineNumber}");
            if (rowPhase == phase) steps[step] = new GrpoStep(step, scalars, []);
        }
        return steps.Values.ToList();
    }

    static (string? Phase, long Step) Parse(string line, out Dictionary<string, double> scalars, string where)
    {
        scalars = [];
        JsonDocument document;
        try { document = JsonDocument.Parse(line); }
        catch (JsonException e) { throw new InvalidDataException($"{where}: not a JSON object ({e.Message}); fix or delete that line.", e); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected a JSON object per line, got {root.ValueKind}.");
            if (!root.TryGetProperty("step", out var stepElement) || !stepElement.TryGetInt64(out var step))
                throw new InvalidDataException($"{where}: missing integer field 'step'; every metrics row needs one.");
            string? phase = root.TryGetProperty("phase", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is "step" or "phase" or "time") continue;
                scalars[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.Number => property.Value.GetDouble(),
                    JsonValueKind.Null => double.NaN,
                    _ => throw new InvalidDataException($"{where}: field '{property.Name}' is {property.Value.ValueKind}; metrics are numbers or null."),
                };
            }
            return (phase, step);
        }
    }
}
