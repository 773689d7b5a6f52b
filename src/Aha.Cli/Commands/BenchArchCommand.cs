using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Aha.Data;
using Aha.Generation;
using Aha.Model;
using Aha.Runtime;
using Aha.Tasks;
using Aha.Training;
using Spectre.Console;
using TorchSharp;

namespace Aha.Cli.Commands;

/// <summary>
/// `aha bench arch`: DeepSeek-V3's efficiency claim measured on this machine. A dense model and its V3-style variants
/// (see <see cref="Architectures"/>: same width, depth and heads, about the same active parameters per token) train on the
/// same tokens of the built-in reasoning corpus in the same order, from the same seed, with the same schedule; then
/// validation loss, speed, sizes, KV cache and expert balance side by side.
/// </summary>
static class BenchArchCommand
{
    /// <summary>One training run: an architecture and its balancing setting.</summary>
    sealed record Variant(string Label, string Arch, double BiasGamma);

    sealed record Outcome(Variant Variant, ModelConfig Config, ModelSize Size, double ValidationLoss, double TrainTokensPerSecond,
        double DecodeB1, double DecodeB32, double? LoadMaxOverMean, double Seconds);

    // Every MoE run has α = 0, so balance comes from the router bias alone: the "auxiliary-loss-free" claim in isolation.
    static readonly Variant[] Variants =
    [
        new("dense", "llama", 0), new("MLA", "mla", 0), new("MoE", "moe", 0.001), new("MoE, γ = 0", "moe", 0),
        new("MLA+MoE+MTP", "v3", 0.001),
    ];

    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "A smaller model (d 64, 2 layers) and 200 short steps per variant: the whole table in about a minute." };
        var steps = new Option<int?>("--steps") { Description = "Training steps per variant (default 400 of 16 × 128 tokens; --quick 200 of 8 × 64)." };
        var threads = RunOptions.NewThreads();
        var seed = new Option<long>("--seed") { Description = "Seed of initialisation and data order, the same for every variant.", DefaultValueFactory = _ => 42 };
        var command = new Command("arch", "Dense versus DeepSeek-V3-style variants (MLA, MoE, MLA + MoE + MTP) at matched active parameters and equal tokens: validation loss, speed, sizes, KV cache, expert balance.")
        {
            quick, steps, threads, seed,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            RunOptions.InitializeTorch(r, threads);
            bool small = r.GetValue(quick);
            int n = r.GetValue(steps) ?? (small ? 200 : 400);
            if (n < 8) throw new ArgumentException($"--steps {n}: need at least 8 (warm-up, timing and the load window).");
            long s = r.GetValue(seed);
            // The demo's base model (d 128, 4 layers, 4 heads, SwiGLU 336); --quick the tiny preset's shape.
            var dense = small
                ? (DemoOptions.Full with { HiddenSize = 64, Layers = 2, Heads = 4 }).BaseModelConfig()
                : DemoOptions.Full.BaseModelConfig();
            var options = new LanguageModelTrainerOptions
            {
                Steps = n, BatchSize = small ? 8 : 16, SequenceLength = small ? 64 : 128, LearningRate = 3e-3, WarmupSteps = Math.Min(30, n / 10),
                EvalEvery = 0, SaveEvery = 0, LogEvery = Math.Max(1, n / 5), Seed = s, BalanceWeight = 0, MtpWeight = 0.3,
            }.Validate();
            var decode = (Prompt: small ? 16 : 32, NewTokens: small ? 16 : 64);
            int validationBatches = small ? 4 : 8;
            var clock = Stopwatch.StartNew();
            var results = new List<Outcome>();
            foreach (var variant in Variants)
            {
                Console.Error.WriteLine($"== {variant.Label} ({Architectures.Describe(variant.Arch)}{(variant.Arch is "moe" or "v3" ? $", γ {variant.BiasGamma}" : "")})");
                results.Add(Measure(variant, Architectures.Apply(dense, variant.Arch), options with { BiasGamma = variant.BiasGamma }, validationBatches, decode));
            }
            Print(results, options, dense, decode, small, clock.Elapsed.TotalSeconds);
        }));
        return command;
    }

    static Outcome Measure(Variant variant, ModelConfig config, LanguageModelTrainerOptions options, int validationBatches, (int Prompt, int NewTokens) decode)
    {
        var clock = Stopwatch.StartNew();
        torch.manual_seed(options.Seed);
        using var model = new LlamaModel(config);
        var tokenizer = ModelPresets.Tokenizer(config);
        var source = new PackedBatchSource(tokenizer, BuiltinCorpus.Documents("reasoning", TaskSplit.Train, options.Seed), options.BatchSize, options.SequenceLength, options.Seed);
        var held = new PackedBatchSource(tokenizer, BuiltinCorpus.Documents("reasoning", TaskSplit.Test, options.Seed), options.BatchSize, options.SequenceLength, options.Seed);
        var validation = Enumerable.Range(0, validationBatches).Select(_ => held.Next()).ToList();
        double timedSeconds = 0;
        int loadWindow = Math.Max(1, options.Steps / 4);
        var loads = new List<double>();
        var trainer = new LanguageModelTrainer(model, tokenizer, options, source)
        {
            Validation = validation, Log = line => Console.Error.WriteLine($"   {line}"), Warn = Console.Error.WriteLine,
            OnStep = step =>
            {
                if (step.Step > 2) timedSeconds += step.Seconds; // the first two steps allocate and warm caches
                // Balance over the last quarter: each step's max/mean load, averaged over the main model's MoE layers.
                var main = step.ExpertLoads.Where(l => l.Layer < config.NumHiddenLayers).ToList();
                if (step.Step > options.Steps - loadWindow && main.Count > 0) loads.Add(main.Average(l => l.MaxOverMean));
            },
        };
        trainer.Run();
        double validationLoss = trainer.ValidationLoss();
        double trainTokensPerSecond = options.TokensPerStep * (options.Steps - 2) / timedSeconds;

        model.eval();
        var engine = new Engine(model);
        var random = new Random((int)options.Seed);
        List<GenerationRequest> Requests(int b) =>
            Enumerable.Range(0, b).Select(i => new GenerationRequest(Enumerable.Range(0, decode.Prompt).Select(_ => random.Next(0, 256)).ToArray(), i)).ToList();
        var sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = decode.NewTokens }; // no stop tokens: every row runs to the end
        engine.Generate(Requests(1), sampling with { MaxNewTokens = 4 });                           // warm-up
        double DecodeTokensPerSecond(int b)
        {
            // The faster of two runs: the machine may be shared, and a busy moment should not decide the comparison.
            double best = 0;
            for (int i = 0; i < 2; i++)
            {
                var watch = Stopwatch.StartNew();
                engine.Generate(Requests(b), sampling);
                best = Math.Max(best, (double)b * decode.NewTokens / watch.Elapsed.TotalSeconds);
            }
            return best;
        }
        double b1 = DecodeTokensPerSecond(1), b32 = DecodeTokensPerSecond(32);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   val loss {validationLoss:F4} | train tok/s {trainTokensPerSecond:N0} | decode tok/s {b1:N0} (b1), {b32:N0} (b32){(loads.Count > 0 ? $" | load max/mean {loads.Average():F2}" : "")}"));
        return new Outcome(variant, config, ModelSize.Of(config), validationLoss, trainTokensPerSecond, b1, b32,
            loads.Count > 0 ? loads.Average() : null, clock.Elapsed.TotalSeconds);
    }

    static void Print(List<Outcome> results, LanguageModelTrainerOptions options, ModelConfig dense, (int Prompt, int NewTokens) decode, bool small, double seconds)
    {
        var baseline = results[0];
        long tokens = options.TokensPerStep * options.Steps;
        string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
        var table = new Table()
            .Title(F($"aha bench arch: {tokens:N0} training tokens each, d {dense.HiddenSize}, {dense.NumHiddenLayers} layers, {dense.NumAttentionHeads} heads, threads {torch.get_num_threads()}"))
            .Caption(F($"Same data order, seed and schedule. Active parameters matched (MLA: q/k/v head dims D + D/2 RoPE, latents C/2; MoE: 1 shared + top-{Architectures.ExpertsPerToken} of {Architectures.RoutedExperts} routed experts of width F/3, layer 0 dense). MoE runs: bias step γ = 0.001 unless noted, balance loss α = 0; MTP λ = 0.3. Load = busiest expert / mean over the last quarter of steps (1 = balanced, {Architectures.RoutedExperts / Architectures.ExpertsPerToken} = collapse). Decode: prompt {decode.Prompt}, {decode.NewTokens} new tokens, sampled, faster of two runs; KV cache float32 over all layers."));
        foreach (var (name, right) in new[]
                 {
                     ("variant", false), ("val loss", true), ("train tok/s", true), ("active params (vs dense)", true), ("total params", true),
                     ("KV B/token", true), ("KV/dense", true), ("decode tok/s b1", true), ("decode tok/s b32", true), ("load max/mean", true),
                 })
            table.AddColumn(right ? new TableColumn(name).RightAligned() : new TableColumn(name));
        foreach (var o in results)
            table.AddRow(
                Markup.Escape(o.Variant.Label),
                F($"{o.ValidationLoss:F4}"),
                F($"{o.TrainTokensPerSecond:N0}"),
                F($"{o.Size.ActiveParameters:N0} ({(o.Size.ActiveParameters - baseline.Size.ActiveParameters) * 100.0 / baseline.Size.ActiveParameters:+0.0;-0.0;0.0}%)"),
                F($"{o.Size.TotalParameters:N0}"),
                F($"{o.Size.KvCacheBytesPerToken:N0}"),
                F($"{o.Size.KvCacheBytesPerToken / (double)baseline.Size.KvCacheBytesPerToken:F2}×"),
                F($"{o.DecodeB1:N0}"),
                F($"{o.DecodeB32:N0}"),
                o.LoadMaxOverMean is { } load ? F($"{load:F2}") : "–");
        // Redirected output would otherwise be wrapped at 80 columns, which breaks every cell of this wide table.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
        AnsiConsole.Write(table);

        var variants = new JsonArray();
        foreach (var o in results)
            variants.Add(new JsonObject
            {
                ["label"] = o.Variant.Label, ["arch"] = o.Variant.Arch, ["bias_gamma"] = o.Variant.BiasGamma,
                ["val_loss"] = Math.Round(o.ValidationLoss, 5), ["train_tokens_per_second"] = Math.Round(o.TrainTokensPerSecond, 1),
                ["active_parameters"] = o.Size.ActiveParameters, ["total_parameters"] = o.Size.TotalParameters, ["mtp_parameters"] = o.Size.MtpParameters,
                ["kv_cache_bytes_per_token"] = o.Size.KvCacheBytesPerToken,
                ["kv_cache_ratio_to_dense"] = Math.Round(o.Size.KvCacheBytesPerToken / (double)baseline.Size.KvCacheBytesPerToken, 4),
                ["decode_tokens_per_second_b1"] = Math.Round(o.DecodeB1, 1), ["decode_tokens_per_second_b32"] = Math.Round(o.DecodeB32, 1),
                ["expert_load_max_over_mean"] = o.LoadMaxOverMean is { } load ? Math.Round(load, 4) : null,
                ["seconds"] = Math.Round(o.Seconds, 1),
            });
        Console.WriteLine(new JsonObject
        {
            ["bench"] = "arch", ["quick"] = small, ["steps"] = options.Steps, ["batch_size"] = options.BatchSize, ["seq_len"] = options.SequenceLength,
            ["training_tokens"] = tokens, ["lr"] = options.LearningRate, ["mtp_weight"] = options.MtpWeight, ["balance_weight"] = options.BalanceWeight,
            ["hidden"] = dense.HiddenSize, ["layers"] = dense.NumHiddenLayers, ["heads"] = dense.NumAttentionHeads, ["intermediate"] = dense.IntermediateSize,
            ["decode_prompt_tokens"] = decode.Prompt, ["decode_new_tokens"] = decode.NewTokens, ["threads"] = torch.get_num_threads(),
            ["seconds"] = Math.Round(seconds, 1), ["variants"] = variants,
        }.ToJsonString(Aha.Eval.ReportFiles.JsonLine));
    }
}
