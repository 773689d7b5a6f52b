using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Training;

namespace Aha.Tests.Training;

/// <summary>`aha grpo --resume` in a child process: the saved run spec applies, typed options are accepted only when they agree with it.</summary>
public class CliResumeTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    static string[] Grpo(string baseDir, string dir, params string[] extra) =>
    [
        "grpo", "--out", dir, "--model", baseDir, "--task", "arithmetic", "--prompts", "2", "--group-size", "2", "--max-tokens", "4",
        "--save-every", "1", "--threads", "1", "--device", "cpu", .. extra,
    ];

    static string[] Resume(string dir, params string[] extra) =>
        ["grpo", "--out", dir, "--resume", "--threads", "1", "--device", "cpu", .. extra];

    static JsonObject Spec(string dir) => Checkpoint.LoadLatest(dir).State!.Payload["spec"]!.AsObject();

    [Fact]
    public void A_grpo_resume_replays_the_saved_options_and_refuses_typed_ones_that_differ()
    {
        using var run = new TempDirectory();
        string baseDir = run["base"], dir = run["grpo"], other = run["other"];
        string[] pretrain = ["pretrain", "--model-size", "tiny", "--seq-len", "128", "--batch-size", "2", "--steps", "1", "--eval-every", "0", "--threads", "1", "--device", "cpu"];
        Assert.Equal(0, CliProcess.Run(Timeout, out _, out var stderr, [.. pretrain, "--out", baseDir]));
        Assert.Equal(0, CliProcess.Run(Timeout, out _, out stderr, [.. pretrain, "--out", other, "--seed", "3"]));
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, Grpo(baseDir, dir, "--steps", "1", "--level", "3", "--lr", "0.002")) == 0, stderr);

        // A different value of an option that shapes the run is refused, naming the saved one; nothing is trained.
        Assert.Equal(1, CliProcess.Run(Timeout, out _, out stderr, Resume(dir, "--steps", "2", "--lr", "0.5")));
        Assert.Contains("--lr 0.5 (the run was started with 0.002)", stderr, StringComparison.Ordinal);
        Assert.Equal(1, CliProcess.Run(Timeout, out _, out stderr, Resume(dir, "--steps", "2", "--level", "1")));
        Assert.Contains("--level 1 (the run was started with 3)", stderr, StringComparison.Ordinal);
        // Another base model would swap the KL reference.
        Assert.Equal(1, CliProcess.Run(Timeout, out _, out stderr, Resume(dir, "--steps", "2", "--model", other)));
        Assert.Contains("--model", stderr, StringComparison.Ordinal);
        Assert.Equal(1, Checkpoint.LoadLatest(dir).State!.Step);

        // Typed again with the same value, or one of the options that may change: accepted. Untyped ones come from the spec.
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, Resume(dir, "--steps", "2", "--lr", "0.002", "--keep-last", "5")) == 0, stderr);
        var spec = Spec(dir);
        Assert.Equal(2, Checkpoint.LoadLatest(dir).State!.Step);
        Assert.Equal(3, spec["--level"]!.GetValue<int>());
        Assert.Equal("arithmetic", spec["--task"]!.GetValue<string>());
        Assert.Equal(5, spec["--keep-last"]!.GetValue<int>());
        Assert.Equal(Path.GetFullPath(baseDir), spec["--model"]!.GetValue<string>());
        Assert.Equal(0.002, Checkpoint.LoadLatest(dir).State!.GetOptions<Aha.Training.GrpoOptions>().LearningRate);
    }
}

/// <summary>`aha bench train` reports only numbers that can be true.</summary>
public class BenchTrainCliTests
{
    [Fact]
    public void Bench_train_with_too_few_steps_for_two_heap_trims_reports_no_rss_growth()
    {
        int code = CliProcess.Run(TimeSpan.FromSeconds(180), out var stdout, out var stderr, "bench", "train", "--quick", "--steps", "12", "--threads", "1");
        Assert.True(code == 0, stderr);
        Assert.Contains("n/a (needs ≥ 20 steps", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("budget", stdout, StringComparison.Ordinal);
        var json = System.Text.Json.Nodes.JsonNode.Parse(stdout.Trim().Split('\n')[^1])!;
        Assert.Null(json["rss_growth"]);
        Assert.InRange(json["mfu"]!.GetValue<double>(), 0, 1);
    }
}

/// <summary>NaN/Inf injected into the real CLI (what a fault-injection run does): skipped, counted, aborted with the last good checkpoint kept.</summary>
public class NonFiniteCliTests
{
    [Fact]
    public void Poisoned_weights_in_the_real_cli_abort_with_exit_code_3_keeping_the_last_good_checkpoint()
    {
        using var run = new TempDirectory();
        string[] args = ["pretrain", "--out", run.Path, "--model-size", "tiny", "--batch-size", "2", "--seq-len", "32", "--steps", "10",
            "--save-every", "1", "--max-bad-steps", "2", "--eval-every", "0", "--threads", "1", "--device", "cpu"];
        Environment.SetEnvironmentVariable(NonFiniteInjection.EnvironmentVariable, "weights@3:inf"); // the child inherits it; tests run one at a time
        int code;
        string stderr;
        try { code = CliProcess.Run(TimeSpan.FromSeconds(60), out _, out stderr, args); }
        finally { Environment.SetEnvironmentVariable(NonFiniteInjection.EnvironmentVariable, null); }
        Assert.True(code == 3, stderr);
        Assert.Contains("aborting: 2 non-finite steps in a row", stderr, StringComparison.Ordinal);
        Assert.Equal(3, Checkpoint.LoadLatest(run.Path).State!.Step);
    }

    [Theory]
    [InlineData("loss@4", NonFiniteTarget.Loss, 4, 1, float.NaN)]
    [InlineData("gradients@10x2:inf", NonFiniteTarget.Gradients, 10, 2, float.PositiveInfinity)]
    [InlineData("Weights@0:-inf", NonFiniteTarget.Weights, 0, 1, float.NegativeInfinity)]
    public void Injections_parse_from_their_text_form(string text, NonFiniteTarget target, long from, int count, float value) =>
        Assert.Equal(new NonFiniteInjection(target, from, count, value), NonFiniteInjection.Parse(text));

    [Theory]
    [InlineData("loss")]
    [InlineData("bias@3")]
    [InlineData("loss@-1")]
    [InlineData("loss@3:zero")]
    public void A_malformed_injection_names_the_text_and_the_form(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => NonFiniteInjection.Parse(text));
        Assert.Contains($"'{text}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("TARGET@STEP", e.Message, StringComparison.Ordinal);
    }
}
