using Aha.Training;

namespace Aha.Tests.Training;

public class R1ZeroDemoTests
{
    [Fact]
    public void A_tiny_demo_runs_every_phase_and_evaluates_both_models_on_the_same_problems()
    {
        using var dir = new TempDirectory();
        var options = new DemoOptions
        {
            HiddenSize = 32, Layers = 1, Heads = 2, PretrainSteps = 4, PretrainBatch = 4, SequenceLength = 64,
            Grpo = new GrpoOptions { Steps = 2, PromptsPerStep = 2, GroupSize = 2, MaxCompletionTokens = 8 },
            EvalProblems = 4, SampledProblems = 2, Samples = 2,
        };
        var lines = new List<string>();
        var result = R1ZeroDemo.Run(dir.Path, options, lines.Add);

        Assert.False(result.Interrupted);
        Assert.Equal(2, result.Steps.Count);
        Assert.Equal(result.BaseGreedy.Problems.Select(p => p.Id), result.FinalGreedy.Problems.Select(p => p.Id));
        Assert.Equal(4, result.FinalGreedy.Problems.Count);
        Assert.Equal(["pretrain", "eval_base", "grpo", "eval_final"], result.PhaseSeconds.Keys);
        Assert.True(File.Exists(Path.Combine(dir.Path, "pretrain", "latest")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "grpo", "latest")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "grpo", "metrics.jsonl")));
        Assert.Contains(lines, l => l.StartsWith("3/4 GRPO", StringComparison.Ordinal));
    }
}
