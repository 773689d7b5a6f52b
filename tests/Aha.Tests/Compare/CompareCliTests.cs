using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Compare;
using Aha.Model;
using Aha.Tasks;
using Aha.Tests.Model;
using Aha.Tests.Training;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Tests.Compare;

/// <summary>
/// `aha compare` on a tiny base: the library run with --quick's settings shrunk to tiny per-step batches (every route's row
/// and column, sane sums, a rerun that trains nothing), and the real command in a child process.
/// </summary>
public class CompareCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(300);

    static string TinyBase(TempDirectory dir)
    {
        var config = new ModelConfig
        {
            VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 128,
        }.Validate();
        using (var model = TinyModels.Random(config)) Checkpoint.Save(dir.Path, "base", model, config, ByteTokenizer.Default);
        return dir["base"];
    }

    // --quick with steps small enough for a test: the budget is still ≥ 20 of the largest step (PPO's), so the 10% bar is real.
    static CompareOptions Tiny { get; } = CompareOptions.Quick with
    {
        Budget = 2e9, Seeds = [1, 2], Labels = 24, MaxCompletionTokens = 4, EvalProblems = 6, SampledProblems = 3, Samples = 2, CurveProblems = 4, CurvePoints = 2,
        Demonstrations = 20,
        Grpo = CompareOptions.Quick.Grpo with { PromptsPerStep = 2, GroupSize = 4 },
        Ppo = CompareOptions.Quick.Ppo with { PromptsPerStep = 4, PpoEpochs = 1, MiniBatches = 2 },
        Dpo = CompareOptions.Quick.Dpo with { BatchSize = 2 },
        Reward = CompareOptions.Quick.Reward with { BatchSize = 4 },
        Sft = CompareOptions.Quick.Sft with { BatchSize = 2, WarmupSteps = 0 },
    };

    [Fact]
    public void Quick_compare_on_a_tiny_base_gives_every_route_every_column_within_the_budget_and_a_rerun_reuses_them()
    {
        using var dir = new TempDirectory();
        string basePath = TinyBase(dir);
        var log = new List<string>();
        var results = CompareRun.Run(dir["cmp"], basePath, TaskRegistry.Addition(), Tiny, log.Add);
        var summary = CompareReport.Write(dir["cmp"], "aha compare --quick (tiny)", basePath, "addition", Tiny, results, 1);

        var routes = summary["routes"]!.AsArray().ToDictionary(r => r!["route"]!.GetValue<string>(), r => r!);
        Assert.Equal(CompareRoutes.Names, routes.Keys);
        string[] columns = ["human_labels", "ai_labels", "greedy_accuracy", "pass_at_k", "maj_at_k", "mean_tokens", "think_share", "reflective_words", "flops", "wall_seconds"];
        foreach (var (name, route) in routes)
            foreach (var column in columns)
                Assert.True(route[column]?["mean"] is not null, $"{name}: {column} missing");
        double Mean(string route, string column) => routes[route][column]!["mean"]!.GetValue<double>();

        Assert.Equal(0, Mean("r1zero", "human_labels"));
        Assert.Equal(0, Mean("r1zero", "ai_labels"));
        Assert.True(Mean("rlhf", "human_labels") > 0);
        Assert.Equal(Mean("rlhf", "human_labels"), Mean("dpo", "human_labels")); // the same labels, bought the same way
        Assert.Equal(0, Mean("rlhf", "ai_labels"));
        Assert.True(Mean("rlaif", "ai_labels") > 0);
        Assert.Equal(0, Mean("rlaif", "human_labels"));
        Assert.Equal(Mean("rlhf", "human_labels"), Mean("rlaif", "ai_labels")); // the same pairs sampled, labelled by the judge instead
        Assert.True(Mean("sft", "demonstrations") > 0);
        Assert.Equal(0, Mean("base", "flops"));
        // A random tiny model is never right, so no pair is decisive: label quality and the RM's gap are absent (null), not made up.
        foreach (var column in new[] { "label_agreement", "reward_model_agreement", "hacking_gap" })
            Assert.True(routes["rlhf"].AsObject().ContainsKey(column), column);
        Assert.Equal(0, Mean("r1zero", "hacking_gap")); // its proxy is the verifier
        Assert.Equal(2, routes["r1zero"]["greedy_accuracy"]!["seeds"]!.GetValue<int>());
        Assert.Equal(1, routes["base"]["greedy_accuracy"]!["seeds"]!.GetValue<int>()); // deterministic: run once
        foreach (var name in routes.Keys.Where(r => r != "base"))
        {
            Assert.True(Mean(name, "flops") >= Tiny.Budget, $"{name} stopped before the budget");
            Assert.InRange(Mean(name, "greedy_accuracy"), 0, 1);
        }
        Assert.True(summary["flops_within_10_percent"]!.GetValue<bool>(), $"spread {summary["flops_spread"]}");
        // Every route's curve starts at the base's accuracy at 0 FLOPs and ends at its spend.
        foreach (var r in results.Where(r => r.Route != "base"))
        {
            Assert.Equal(0, r.Curve[0].Flops);
            Assert.Equal(r.Flops, r.Curve[^1].Flops);
            Assert.Equal(Tiny.CurvePoints + 1, r.Curve.Count);
        }
        foreach (var file in new[] { "report.md", "summary.json", "accuracy_vs_compute.png", "proxy_vs_truth.png", Path.Combine("rlhf", "seed-2", CompareRun.ResultFile) })
            Assert.True(File.Exists(Path.Combine(dir["cmp"], file)), file);
        string report = File.ReadAllText(Path.Combine(dir["cmp"], "report.md"));
        foreach (var route in CompareRoutes.All) Assert.Contains(route.Description, report, StringComparison.Ordinal);

        log.Clear();
        var again = CompareRun.Run(dir["cmp"], basePath, TaskRegistry.Addition(), Tiny, log.Add);
        Assert.Equal(11, log.Count(l => l.Contains("done before", StringComparison.Ordinal))); // five routes × two seeds, and the base once
        Assert.Equal(results.Select(r => (r.Route, r.Seed, r.GreedyAccuracy, r.Flops)), again.Select(r => (r.Route, r.Seed, r.GreedyAccuracy, r.Flops)));
    }

    [Fact]
    public void The_command_writes_the_report_and_one_json_line_last_and_names_a_bad_route()
    {
        using var dir = new TempDirectory();
        string basePath = TinyBase(dir);
        Assert.True(CliProcess.Run(Timeout, out var stdout, out var stderr, "compare", "--quick", "--model", basePath, "--out", dir["cmp"], "--routes", "base",
            "--max-tokens", "4", "--eval-problems", "4", "--threads", "1") == 0, stderr);
        var summary = JsonNode.Parse(stdout.Trim().Split('\n')[^1])!;
        Assert.Equal("compare", summary["command"]!.GetValue<string>());
        Assert.Equal("base", summary["routes"]![0]!["route"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(dir["cmp"], "report.md")));

        Assert.Equal(1, CliProcess.Run(Timeout, out _, out stderr, "compare", "--model", basePath, "--out", dir["bad"], "--routes", "r1zero,rlhf2", "--threads", "1"));
        Assert.Contains("unknown route 'rlhf2'", stderr, StringComparison.Ordinal);
    }
}
