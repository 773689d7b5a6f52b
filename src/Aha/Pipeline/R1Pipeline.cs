using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Reports;

namespace Aha.Pipeline;

/// <summary>One finished stage as its <c>done.json</c> records it: the checkpoint it produced, its evaluation, what it did.</summary>
public sealed record StageRecord(int Stage, string Name, string Checkpoint, StageMetrics Metrics, JsonObject Details, double Seconds, bool Skipped);

/// <summary>The pipeline's end: every finished stage in order; <see cref="Interrupted"/> when a stage was cancelled.</summary>
public sealed record PipelineResult(IReadOnlyList<StageRecord> Stages, bool Interrupted, double Seconds);

/// <summary>
/// <c>aha pipeline r1</c>: DeepSeek-R1's four stages after a base model, at toy scale, in one run folder with one sub-folder
/// per stage. (0) base: a given checkpoint, or the demo's pretraining; (1) cold start: SFT on long, readable reasoning;
/// (2) reasoning RL: GRPO with accuracy + format + language consistency; (3) rejection sampling from the stage-2 model plus
/// non-reasoning rows, then SFT of the base on them; (4) all-scenario RL: rule rewards for reasoning prompts and a preference
/// reward model (trained here on simulated labels) for general prompts, one reward set. After every stage the model is
/// evaluated on the same held-out problems. A stage is done when its final checkpoint and <c>done.json</c> exist; a rerun
/// skips done stages, and redoes an unfinished one (and everything after a redone one) from its start.
/// </summary>
public static class R1Pipeline
{
    public static IReadOnlyList<string> StageNames { get; } = ["base", "cold_start", "reasoning_rl", "rejection_sft", "all_scenario_rl"];
    public static IReadOnlyList<string> StageFolders { get; } = ["stage0-base", "stage1-cold-start", "stage2-reasoning-rl", "stage3-rejection-sft", "stage4-all-scenario-rl"];
    public const string DoneFile = "done.json";
    public const string SettingsFile = "pipeline.json";
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <param name="basePath">The base checkpoint (a run or checkpoint folder); null pretrains one as <c>aha demo</c> does.</param>
    /// <param name="fromStage">Redo this stage and every later one; null continues after the last done stage.</param>
    public static PipelineResult Run(string dir, R1PipelineOptions options, string? basePath, int? fromStage, Action<string> log, CancellationToken cancel = default)
    {
        var o = options.Validate();
        if (fromStage is < 0 or > 4) throw new ArgumentException($"--from-stage {fromStage}: stages are 0 (base) to 4 (all-scenario RL).");
        CheckSettings(dir, o, basePath, fromStage, log);
        var total = Stopwatch.StartNew();
        var stages = new List<StageRecord>();
        var context = new StageContext(dir, o, log, cancel);
        bool redo = false;
        for (int stage = 0; stage < StageNames.Count; stage++)
        {
            string folder = Path.Combine(dir, StageFolders[stage]);
            redo |= fromStage is { } f && stage >= f;
            if (!redo && ReadDone(folder) is { } done)
            {
                log($"stage {stage} ({StageNames[stage]}): done, skipped ({done.Checkpoint})");
                stages.Add(done with { Skipped = true });
                continue;
            }
            redo = true; // every later stage depends on this one
            if (cancel.IsCancellationRequested) return new(stages, true, total.Elapsed.TotalSeconds);
            if (Directory.Exists(folder))
            {
                log($"stage {stage} ({StageNames[stage]}): removing the unfinished or outdated {folder}");
                Directory.Delete(folder, recursive: true);
            }
            Directory.CreateDirectory(folder);
            log($"stage {stage}/4 ({StageNames[stage]})");
            var clock = Stopwatch.StartNew();
            var previous = stages.Select(s => Resolve(dir, s.Checkpoint)).ToList();
            var outcome = stage switch
            {
                0 => Stages.Base(context, folder, basePath),
                1 => Stages.ColdStart(context, folder, previous[0]),
                2 => Stages.ReasoningRl(context, folder, previous[1]),
                3 => Stages.RejectionSft(context, folder, previous[2], previous[0]),
                _ => Stages.AllScenarioRl(context, folder, previous[3]),
            };
            if (outcome is null) return new(stages, true, total.Elapsed.TotalSeconds);
            var (checkpoint, details) = outcome.Value;
            log($"stage {stage} ({StageNames[stage]}): evaluating {checkpoint}");
            var metrics = context.Evaluate(checkpoint, out var examples);
            details["examples"] = examples;
            string relative = Path.GetRelativePath(Path.GetFullPath(dir), Path.GetFullPath(checkpoint));
            var record = new StageRecord(stage, StageNames[stage], relative.StartsWith("..", StringComparison.Ordinal) ? Path.GetFullPath(checkpoint) : relative,
                metrics, details, clock.Elapsed.TotalSeconds, false);
            Durable.ReplaceText(Path.Combine(folder, DoneFile), JsonSerializer.Serialize(record, Json) + "\n");
            log($"stage {stage} ({StageNames[stage]}) done in {ReportMarkdown.Duration(record.Seconds)}: {StageMetrics.Line(metrics)}");
            stages.Add(record);
        }
        return new(stages, false, total.Elapsed.TotalSeconds);
    }

    /// <summary>The stage's record when its <c>done.json</c> and the checkpoint it names both exist, else null.</summary>
    public static StageRecord? ReadDone(string stageFolder)
    {
        string path = Path.Combine(stageFolder, DoneFile);
        if (!File.Exists(path)) return null;
        StageRecord record;
        try { record = JsonSerializer.Deserialize<StageRecord>(File.ReadAllText(path), Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a stage record ({e.Message}); delete it to redo the stage.", e); }
        string runDir = Path.GetDirectoryName(Path.GetFullPath(stageFolder))!;
        return File.Exists(Path.Combine(Resolve(runDir, record.Checkpoint), Checkpoint.ConfigFile)) ? record : null;
    }

    static string Resolve(string dir, string checkpoint) => Path.IsPathRooted(checkpoint) ? checkpoint : Path.Combine(dir, checkpoint);

    /// <summary>
    /// Writes <c>pipeline.json</c> (options and base) in a new run folder; in an existing one, refuses other settings by
    /// name, since done stages were made with the saved ones, unless <paramref name="fromStage"/> asks to redo stages with
    /// the new ones (the file is then replaced and the differences logged). A non-empty folder that is not a pipeline run is refused.
    /// </summary>
    static void CheckSettings(string dir, R1PipelineOptions options, string? basePath, int? fromStage, Action<string> log)
    {
        RunFolder.EnsureWritable(dir);
        var settings = new JsonObject
        {
            ["base"] = basePath is null ? null : Path.GetFullPath(basePath),
            ["options"] = JsonSerializer.SerializeToNode(options, Json),
        };
        string path = Path.Combine(dir, SettingsFile);
        if (File.Exists(path))
        {
            var saved = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path} is not a JSON object; delete the run folder or choose another --out.");
            var differ = Differences(saved, settings, "").ToList();
            if (differ.Count > 0 && fromStage is not null)
            {
                log($"--from-stage {fromStage}: redoing it and the stages after it with changed settings ({string.Join("; ", differ)}); earlier stages keep theirs");
                Durable.ReplaceText(path, settings.ToJsonString(Json) + "\n");
                return;
            }
            if (differ.Count > 0)
                throw new ArgumentException($"{dir} is a pipeline run made with other settings ({string.Join("; ", differ.Take(5))}); " +
                    "rerun with the same options to continue it, pass --from-stage N to redo stage N on with the new ones, or choose another --out.");
            return;
        }
        if (Directory.EnumerateFileSystemEntries(dir).Any())
            throw new ArgumentException($"{dir} is not empty and has no {SettingsFile}, so it is not a pipeline run; choose another --out.");
        Durable.ReplaceText(path, settings.ToJsonString(Json) + "\n");
    }

    static IEnumerable<string> Differences(JsonNode? saved, JsonNode? now, string at)
    {
        if (saved is JsonObject a && now is JsonObject b)
        {
            foreach (var key in a.Select(p => p.Key).Union(b.Select(p => p.Key)))
                foreach (var d in Differences(a[key], b[key], at.Length == 0 ? key : $"{at}.{key}")) yield return d;
        }
        else if (!JsonNode.DeepEquals(saved, now))
            yield return $"{at}: saved {saved?.ToJsonString() ?? "null"}, now {now?.ToJsonString() ?? "null"}";
    }
}
