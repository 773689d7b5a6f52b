using System.Text.Json.Nodes;
using Aha.Pipeline;
using Aha.Training;

namespace Aha.Tests.Pipeline;

// The pipeline pretrains its base and draws a reward model's head from the global torch RNG after seeding it: alone, so
// no parallel test reseeds the RNG in between and the resumed run can be compared with the uninterrupted one.
[CollectionDefinition(nameof(R1PipelineTests), DisableParallelization = true)]
public sealed class R1PipelineCollection : ICollectionFixture<R1PipelineTests.Uninterrupted>;

[Collection(nameof(R1PipelineTests))]
public class R1PipelineTests(R1PipelineTests.Uninterrupted run)
{
    /// <summary>Every stage a step or two on a 1-layer, d-32 model: what each stage reads and writes, not what it learns.</summary>
    public static R1PipelineOptions Tiny { get; } = new()
    {
        Base = new DemoOptions { HiddenSize = 32, Layers = 1, Heads = 2, PretrainSteps = 3, PretrainBatch = 2, SequenceLength = 32 },
        MaxCompletionTokens = 12,
        ColdStartExamples = 6,
        ColdStartSft = Sft(2),
        ReasoningRl = new GrpoOptions { Steps = 1, PromptsPerStep = 2, GroupSize = 2, SaveEvery = 0 },
        RejectionPrompts = 2, RejectionSamples = 2, NonReasoningRows = 3, RetrainEpochs = 1, RetrainSft = Sft(1),
        Readability = new ReadabilityFilter(MaxTokens: 100),
        PreferencePrompts = 4, PreferenceSamples = 2, RewardModel = new RewardOptions { Steps = 1, BatchSize = 2, EvalEvery = 0, SaveEvery = 0 },
        AllScenarioRl = new GrpoOptions { Steps = 1, PromptsPerStep = 2, GroupSize = 2, SaveEvery = 0 }, GeneralEvery = 2,
        EvalProblems = 2, SampledProblems = 1, Samples = 2, GeneralEvalProblems = 2,
    };

    static LanguageModelTrainerOptions Sft(int steps) => new()
    {
        Steps = steps, BatchSize = 2, SequenceLength = 64, LearningRate = 1e-3, WarmupSteps = 0, EvalEvery = 0, SaveEvery = 0, LogEvery = 100,
    };

    /// <summary>One uninterrupted tiny pipeline, shared by the tests that only read it.</summary>
    public sealed class Uninterrupted : IDisposable
    {
        internal TempDirectory Dir { get; } = new();
        public List<string> Lines { get; } = [];
        public PipelineResult Result { get; }

        public Uninterrupted() => Result = R1Pipeline.Run(Dir.Path, Tiny, basePath: null, fromStage: null, Lines.Add);

        public void Dispose() => Dir.Dispose();
    }

    static string Stage(string dir, int stage) => Path.Combine(dir, R1Pipeline.StageFolders[stage]);

    static List<JsonObject> Jsonl(string path) => File.ReadAllLines(path).Select(l => (JsonObject)JsonNode.Parse(l)!).ToList();

    [Fact]
    public void Every_stage_writes_its_checkpoint_its_data_and_a_done_marker_and_is_evaluated_on_the_same_problems()
    {
        var dir = run.Dir.Path;
        Assert.False(run.Result.Interrupted);
        Assert.Equal([0, 1, 2, 3, 4], run.Result.Stages.Select(s => s.Stage));
        foreach (var s in run.Result.Stages)
        {
            Assert.True(File.Exists(Path.Combine(dir, s.Checkpoint, "config.json")), s.Checkpoint);
            Assert.StartsWith(R1Pipeline.StageFolders[s.Stage], s.Checkpoint);
            Assert.NotNull(R1Pipeline.ReadDone(Stage(dir, s.Stage)));
            Assert.InRange(s.Metrics.Accuracy, 0, 1);
            Assert.Equal(3, s.Details["examples"]!.AsArray().Count);
        }
        // The base was pretrained here, as aha demo does, since no --base was given.
        Assert.Equal("pretrained", (string?)run.Result.Stages[0].Details["source"]);
        Assert.True(File.Exists(Path.Combine(Stage(dir, 0), "pretrain", "latest")));

        // Stage 1: the built-in readable examples, all in the fixed format, then SFT.
        var coldStart = Jsonl(Path.Combine(Stage(dir, 1), "cold_start.jsonl"));
        Assert.Equal(Tiny.ColdStartExamples, coldStart.Count);
        Assert.All(coldStart, r => Assert.Matches(@"^ <think>[\d+=, ]+, so \d+\. Units: .* The sum is \d+\.</think> <answer>\d+</answer>$", (string)r["completion"]!));
        Assert.Contains("stage1-cold-start/sft/", run.Result.Stages[1].Checkpoint.Replace('\\', '/'));

        // Stage 2: GRPO with the three rule rewards, logged per column.
        var grpo = File.ReadAllText(Path.Combine(Stage(dir, 2), "grpo", "metrics.jsonl"));
        foreach (var column in new[] { "reward_accuracy", "reward_format", "reward_language" }) Assert.Contains(column, grpo);

        // Stage 3: every sample counted once; the SFT set is the kept samples plus the non-reasoning rows; SFT from the base.
        var d3 = run.Result.Stages[3].Details;
        int sampled = (int)d3["sampled"]!, kept = (int)d3["kept"]!;
        Assert.Equal(Tiny.RejectionPrompts * Tiny.RejectionSamples, sampled);
        Assert.Equal(sampled, kept + d3["rejected"]!.AsObject().Sum(r => (int)r.Value!));
        Assert.Equal(RejectionSampler.Filters, d3["rejected"]!.AsObject().Select(r => r.Key));
        var sftData = Jsonl(Path.Combine(Stage(dir, 3), "sft_data.jsonl"));
        Assert.Equal(kept + Tiny.NonReasoningRows, sftData.Count);
        Assert.Equal(Tiny.NonReasoningRows, sftData.Count(r => (string?)r["kind"] == "non_reasoning"));
        Assert.EndsWith(Path.Combine(R1Pipeline.StageFolders[0], "pretrain", "step-000003"), (string)d3["sft_from"]!);

        // Stage 4: preference pairs, a reward model, and GRPO whose reward set has the RM beside the rules.
        Assert.True(File.Exists(Path.Combine(Stage(dir, 4), "prefs.jsonl")));
        Assert.True(File.Exists(Path.Combine(Stage(dir, 4), "rm", "latest")));
        var rows = Jsonl(Path.Combine(Stage(dir, 4), "grpo", "metrics.jsonl")).Where(r => r["reward_rm"] is not null).ToList();
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.NotNull(r["reward_accuracy"]));
    }

    [Fact]
    public void A_report_has_one_row_per_stage_and_a_summary_with_every_stage()
    {
        using var report = new TempDirectory();
        PipelineReport.Write(report.Path, "aha pipeline r1 (test)", Tiny, run.Result, new Dictionary<string, object> { ["seed"] = 42 });
        string md = File.ReadAllText(report[PipelineReport.MarkdownFile]);
        foreach (var title in new[] { "| base |", "| 1 cold start (SFT) |", "| 2 reasoning RL (GRPO) |", "| 3 rejection sampling + SFT from base |", "| 4 all-scenario RL (GRPO, rules + RM) |" })
            Assert.Contains(title, md);
        Assert.Contains("| wrong_answer |", md);
        var summary = JsonNode.Parse(File.ReadAllText(report[PipelineReport.SummaryFile]))!;
        Assert.Equal(5, summary["stages"]!.AsArray().Count);
        Assert.Equal(run.Result.Stages[4].Metrics.Accuracy, (double)summary["stages"]![4]!["metrics"]!["accuracy"]!);
    }

    [Fact]
    public void A_rerun_after_a_kill_between_stages_skips_the_done_stages_and_ends_where_the_uninterrupted_run_did()
    {
        using var dir = new TempDirectory();
        using var cancel = new CancellationTokenSource();
        var first = R1Pipeline.Run(dir.Path, Tiny, null, null, line =>
        {
            if (line.StartsWith("stage 2 (reasoning_rl) done", StringComparison.Ordinal)) cancel.Cancel();
        }, cancel.Token);
        Assert.True(first.Interrupted);
        Assert.Equal([0, 1, 2], first.Stages.Select(s => s.Stage));
        Assert.False(Directory.Exists(Stage(dir.Path, 3)));
        var doneBefore = Enumerable.Range(0, 3).Select(s => File.ReadAllText(Path.Combine(Stage(dir.Path, s), R1Pipeline.DoneFile))).ToList();
        Directory.CreateDirectory(Stage(dir.Path, 3));
        File.WriteAllText(Path.Combine(Stage(dir.Path, 3), "half-written.tmp"), "x"); // what a kill inside stage 3 leaves

        var lines = new List<string>();
        var second = R1Pipeline.Run(dir.Path, Tiny, null, null, lines.Add);

        Assert.False(second.Interrupted);
        Assert.Equal([true, true, true, false, false], second.Stages.Select(s => s.Skipped));
        Assert.Equal(doneBefore, Enumerable.Range(0, 3).Select(s => File.ReadAllText(Path.Combine(Stage(dir.Path, s), R1Pipeline.DoneFile))));
        Assert.False(File.Exists(Path.Combine(Stage(dir.Path, 3), "half-written.tmp")));
        Assert.DoesNotContain(lines, l => l.StartsWith("stage 1/4", StringComparison.Ordinal));
        Assert.Equal(run.Result.Stages.Select(s => s.Metrics), second.Stages.Select(s => s.Metrics));

        // --from-stage 4 redoes the last stage only; a finished run redoes nothing.
        var redo = R1Pipeline.Run(dir.Path, Tiny, null, 4, _ => { });
        Assert.Equal([true, true, true, true, false], redo.Stages.Select(s => s.Skipped));
        Assert.Equal(second.Stages[4].Metrics, redo.Stages[4].Metrics);
        // --from-stage also redoes with changed settings, which the run folder keeps from then on.
        var changed = Tiny with { LabelNoise = 0.3 };
        Assert.Throws<ArgumentException>(() => R1Pipeline.Run(dir.Path, changed, null, null, _ => { }));
        Assert.Equal([true, true, true, true, false], R1Pipeline.Run(dir.Path, changed, null, 4, _ => { }).Stages.Select(s => s.Skipped));
        Assert.All(R1Pipeline.Run(dir.Path, changed, null, null, _ => { }).Stages, s => Assert.True(s.Skipped));
    }

    [Fact]
    public void A_run_folder_is_only_continued_with_the_settings_it_was_made_with()
    {
        var e = Assert.Throws<ArgumentException>(() => R1Pipeline.Run(run.Dir.Path, Tiny with { NonReasoningRows = 5 }, null, null, _ => { }));
        Assert.Contains("non_reasoning_rows: saved 3, now 5", e.Message);

        using var other = new TempDirectory();
        File.WriteAllText(other["notes.txt"], "mine");
        var notPipeline = Assert.Throws<ArgumentException>(() => R1Pipeline.Run(other.Path, Tiny, null, null, _ => { }));
        Assert.Contains("has no pipeline.json", notPipeline.Message);
        Assert.Equal("mine", File.ReadAllText(other["notes.txt"]));
    }
}
