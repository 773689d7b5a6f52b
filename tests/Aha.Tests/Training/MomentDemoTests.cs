using System.Text.Json.Nodes;
using Aha.Reports;
using Aha.Training;

namespace Aha.Tests.Training;

public class MomentDemoTests
{
    [Fact]
    public void A_tiny_moment_demo_runs_three_rewards_from_one_base_and_writes_the_report()
    {
        using var dir = new TempDirectory();
        var options = new MomentOptions
        {
            Demo = new DemoOptions
            {
                HiddenSize = 32, Layers = 1, Heads = 2, PretrainSteps = 3, PretrainBatch = 4, SequenceLength = 64,
                Grpo = new GrpoOptions { Steps = 2, PromptsPerStep = 2, GroupSize = 2, MaxCompletionTokens = 8, SaveEvery = 0 },
                EvalProblems = 4, SampledProblems = 2, Samples = 2,
            },
            CurveEvery = 1, CurveProblems = 3,
        };
        var lines = new List<string>();
        var result = MomentDemo.Run(dir.Path, options, lines.Add);

        Assert.False(result.Interrupted);
        Assert.Equal(["verifier", "format", "random"], result.Arms.Select(a => a.Name));
        Assert.Equal(["pretrain", "eval_base", "grpo_verifier", "eval_verifier", "grpo_format", "eval_format", "grpo_random", "eval_random"], result.PhaseSeconds.Keys);
        foreach (var arm in result.Arms)
        {
            Assert.Equal(2, arm.Steps.Count);
            Assert.Equal(2, arm.RolloutReflection.Count);
            Assert.Equal([0L, 1L, 2L], arm.Curve.Select(p => p.Step));          // base, after step 1, final
            Assert.Equal(3, arm.Curve[0].Stats.Completions);
            Assert.Equal(result.BaseGreedy.Problems.Select(p => p.Id), arm.FinalGreedy.Problems.Select(p => p.Id));
        }
        Assert.Contains("reward_accuracy", result.Arms[0].Steps[0].Scalars.Keys);
        Assert.DoesNotContain("reward_accuracy", result.Arms[1].Steps[0].Scalars.Keys);
        Assert.Contains("reward_format", result.Arms[1].Steps[0].Scalars.Keys);
        Assert.Contains("reward_random", result.Arms[2].Steps[0].Scalars.Keys);

        var report = MomentReport.Write(dir.Path, "aha demo --task signs", options, result, 1);
        var markdown = File.ReadAllText(report);
        Assert.Contains("## Over GRPO steps: random", markdown);
        Assert.Contains("precision", markdown);
        foreach (var file in new[] { "heldout_accuracy.png", "reflection_counts.png", "reflection_precision.png", "verifier/report.md", "random/summary.json" })
            Assert.True(File.Exists(Path.Combine(dir.Path, file)), file);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, MomentReport.SummaryFile)))!;
        Assert.Equal(3, summary["arms"]!["format"]!["curve"]!.AsArray().Count);
        Assert.NotNull(summary["base"]!["pass_at_k"]!["2"]);

        // Starting from that base instead of pretraining: the base evaluation is the same model's, so the same numbers.
        using var again = new TempDirectory();
        var reused = MomentDemo.Run(again.Path, options with { BaseModel = Path.Combine(dir.Path, "pretrain"), Arms = ["random"] }, lines.Add);
        Assert.Equal(["pretrain", "eval_base", "grpo_random", "eval_random"], reused.PhaseSeconds.Keys);
        Assert.Equal(result.BaseGreedy.Samples.Select(s => s.Row.Completion), reused.BaseGreedy.Samples.Select(s => s.Row.Completion));
        Assert.False(Directory.Exists(Path.Combine(again.Path, "pretrain")));
    }
}
