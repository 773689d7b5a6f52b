using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Aha.Eval;
using Aha.Reports;
using Aha.Training;

namespace Aha.Tests.Reports;

public class DemoReportTests
{
    const string Prompt = "User: What is 2 + 3?\nAssistant:";
    static readonly string[] Plots = ["accuracy_before_after.png", "reward.png", "accuracy.png", "completion_length.png", "kl.png", "reasoning.png"];

    [Fact]
    public void The_folder_holds_the_report_the_summary_and_every_plot()
    {
        using var temp = new TempDirectory();
        var path = DemoReport.Write(temp.Path, Input());

        Assert.Equal(temp["report.md"], path);
        Assert.True(File.Exists(temp["summary.json"]));
        foreach (var plot in Plots) Assert.True(File.Exists(temp[plot]), $"{plot} is missing");
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp*"));
    }

    [Fact]
    public void Summary_json_holds_the_numbers_computed_from_the_input()
    {
        using var temp = new TempDirectory();
        DemoReport.Write(temp.Path, Input());
        var summary = JsonNode.Parse(File.ReadAllText(temp["summary.json"]))!;

        double Number(string path) => path.Split('.').Aggregate(summary, (node, key) => node![key]!).GetValue<double>();
        Assert.Equal(0.25, Number("base.accuracy"));
        Assert.Equal(0.75, Number("final.accuracy"));
        Assert.Equal(25, Number("base.mean_completion_tokens"));
        Assert.Equal(62.5, Number("final.mean_completion_tokens"));
        Assert.Equal(0.5, Number("base.pass_at_k.4"));
        Assert.Equal(1.0, Number("final.pass_at_k.4"));
        Assert.Equal(0.25, Number("base.maj_at_k.4"));
        Assert.Equal(0.75, Number("final.maj_at_k.4"));
        Assert.Equal(4, Number("final.samples_per_problem"));
        Assert.Equal(0, Number("base.think_fraction"));
        Assert.Equal(0.75, Number("final.think_fraction"));
        Assert.Equal(0, Number("base.reflective_words"));
        Assert.Equal(1.0, Number("final.reflective_words")); // "Wait" and "check" in each of two completions, over four
        Assert.Equal(0, Number("base.format_fraction"));
        Assert.Equal(0.5, Number("final.format_fraction")); // one has text after </answer>, one no think block
        Assert.Equal(322, Number("seconds"));
        Assert.Equal(200, Number("phase_seconds.grpo"));
        Assert.Equal(30, Number("steps"));
        Assert.Equal(8, Number("settings.group_size"));
        Assert.Equal("arithmetic", summary["settings"]!["task"]!.GetValue<string>());
        Assert.True(summary["settings"]!["kl"]!.GetValue<bool>());
        Assert.Null(summary["last_step"]!["kl"]); // NaN in the last step is written as null
    }

    [Fact]
    public void Every_plot_is_an_800_by_450_png_with_content()
    {
        using var temp = new TempDirectory();
        DemoReport.Write(temp.Path, Input());

        foreach (var plot in Plots)
        {
            var bytes = File.ReadAllBytes(temp[plot]);
            Assert.True(bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }), $"{plot} lacks the PNG signature");
            Assert.Equal(800, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16))); // IHDR width
            Assert.Equal(450, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20))); // IHDR height
            Assert.True(bytes.Length > 8_000, $"{plot} is {bytes.Length} bytes; a plot with axes, text and lines is larger");
        }
    }

    [Fact]
    public void Report_md_shows_before_after_time_progress_samples_plots_and_glossary()
    {
        using var temp = new TempDirectory();
        DemoReport.Write(temp.Path, Input());
        var md = File.ReadAllText(temp["report.md"]);

        Assert.Contains("aha demo --steps 30", md);
        Assert.Contains("| group_size | `8` |", md);
        Assert.Contains("| greedy accuracy (pass@1) | 25.0% | 75.0% | +50.0 pt |", md);
        Assert.Contains("| pass@4 | 50.0% | 100.0% | +50.0 pt |", md);
        Assert.Contains("| maj@4 | 25.0% | 75.0% | +50.0 pt |", md);
        Assert.Contains("| mean completion tokens | 25.0 | 62.5 | +37.5 |", md);
        Assert.Contains("| **total** | **5 min 22 s** | 100% |", md);
        Assert.Contains("| 1–3 |", md); // 30 steps in windows of three
        Assert.Contains("| 28–30 |", md);
        foreach (var plot in Plots) Assert.Contains($"]({plot})", md);
        Assert.Contains("✓ correct", md);
        Assert.Contains("✗ wrong", md);
        Assert.Contains("loss ≈ 0", md);
        // Newly solved problems come first among the samples.
        Assert.True(md.IndexOf("### Problem `p1`", StringComparison.Ordinal) < md.IndexOf("### Problem `p0`", StringComparison.Ordinal));
    }

    [Fact]
    public void A_run_without_grpo_steps_still_gets_a_report_and_the_bar_chart()
    {
        using var temp = new TempDirectory();
        DemoReport.Write(temp.Path, Input() with { Steps = [] });

        Assert.Contains("No GRPO steps were recorded.", File.ReadAllText(temp["report.md"]));
        Assert.True(File.Exists(temp["accuracy_before_after.png"]));
        Assert.False(File.Exists(temp["reward.png"]));
    }

    [Fact]
    public void Regenerating_from_the_saved_input_and_metrics_jsonl_gives_the_same_report()
    {
        using var temp = new TempDirectory();
        using (var log = new MetricsLog(temp.Path, tensorboard: false))
            foreach (var step in Input().Steps) log.Write("grpo", step.Step, step.Scalars);
        // The steps as metrics.jsonl holds them (rounded to 7 decimals), so both reports see the same numbers.
        var input = Input() with { Steps = MetricsReader.Read(temp["metrics.jsonl"]) };
        var report = Path.Combine(temp.Path, "report");
        DemoReport.Write(report, input);
        var markdown = File.ReadAllText(Path.Combine(report, "report.md"));
        var summary = File.ReadAllText(Path.Combine(report, "summary.json"));

        DemoReport.Regenerate(report, temp["metrics.jsonl"]);

        Assert.Equal(markdown, File.ReadAllText(Path.Combine(report, "report.md")));
        Assert.Equal(summary, File.ReadAllText(Path.Combine(report, "summary.json")));
    }

    // Base: answers only, one of four right, 10–40 tokens. Final: thinks on three, reflects on two, three of four right.
    internal static DemoReportInput Input() => new()
    {
        Command = "aha demo --steps 30 --out runs/demo",
        Settings = new Dictionary<string, object> { ["task"] = "arithmetic", ["group_size"] = 8, ["kl"] = true, ["learning_rate"] = 1e-5 },
        Base = new ModelEvaluation(
            Greedy(["<answer>5</answer>", "<answer>7</answer>", "<answer>1</answer>", "garbled"], [true, false, false, false], [10, 20, 30, 40]),
            Sampled(passAt4: 0.5, majAt4: 0.25)),
        Final = new ModelEvaluation(
            Greedy(["<think>2 + 3 = 5. Wait, check: 5.</think> <answer>5</answer>", "<think>Wait, let me check.</think> <answer>9</answer>", "<think>3 - 2 = 1</think>\n<answer>1</answer>.", "<answer>4</answer>"],
                [true, true, true, false], [50, 60, 70, 70]),
            Sampled(passAt4: 1.0, majAt4: 0.75)),
        Steps = Enumerable.Range(1, 30).Select(Step).ToList(),
        PhaseSeconds = new Dictionary<string, double> { ["pretrain"] = 100, ["eval_base"] = 10, ["grpo"] = 200, ["eval_final"] = 12 },
    };

    static EvalReport Greedy(string[] completions, bool[] correct, int[] tokens)
    {
        var samples = completions.Select((c, i) => new ScoredSample(
            new CompletionRow($"p{i}", "5", c) { Prompt = Prompt, Tokens = tokens[i] }, correct[i] ? "5" : "x", correct[i] ? "5" : "x", correct[i], correct[i] ? 1 : 0)).ToList();
        var problems = samples.Select(s => new ProblemResult(s.Row.Id, "5", 1, s.Correct ? 1 : 0,
            new Dictionary<int, double> { [1] = s.Correct ? 1 : 0 }, new Dictionary<int, bool> { [1] = s.Correct }, s.Extracted)).ToList();
        var accuracy = correct.Average(c => c ? 1.0 : 0.0);
        return new EvalReport(samples, problems, new EvalSummary
        {
            Task = "arithmetic", Problems = 4, Samples = 4, Accuracy = accuracy,
            PassAtK = new Dictionary<int, double> { [1] = accuracy }, MajAtK = new Dictionary<int, double> { [1] = accuracy },
            MeanCompletionChars = completions.Average(c => c.Length), MeanCompletionTokens = tokens.Average(),
            Sampling = SamplingSettings.For(1),
        });
    }

    // Only the summary of the sampled run is read by the report, so its samples can stay empty here.
    static EvalReport Sampled(double passAt4, double majAt4) => new([], [], new EvalSummary
    {
        Task = "arithmetic", Problems = 4, Samples = 16, Accuracy = passAt4 / 2,
        PassAtK = new Dictionary<int, double> { [1] = passAt4 / 2, [4] = passAt4 },
        MajAtK = new Dictionary<int, double> { [1] = passAt4 / 2, [4] = majAt4 },
        MeanCompletionChars = 20, Sampling = SamplingSettings.For(4),
    });

    internal static GrpoStep Step(int step)
    {
        var t = step / 30.0;
        return new GrpoStep(step, new Dictionary<string, double>
        {
            ["reward"] = 0.2 + 1.2 * t + 0.1 * Math.Sin(step),
            ["reward_accuracy"] = 0.1 + 0.7 * t,
            ["reward_format"] = 0.1 + 0.5 * t,
            ["reward_std"] = 0.3,
            ["accuracy"] = 0.1 + 0.7 * t,
            ["loss"] = 1e-4 * Math.Cos(step),
            ["kl"] = step == 30 ? double.NaN : 0.002 * step,
            ["entropy"] = 1.5 - t,
            ["completion_tokens"] = 20 + 40 * t,
            ["completion_tokens_max"] = 40 + 80 * t,
            ["think_fraction"] = t,
            ["reflective_words"] = 0.5 * t,
        }, []);
    }
}
