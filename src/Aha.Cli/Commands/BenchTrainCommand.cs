using System.CommandLine;
using System.Text.Json.Nodes;
using Aha.Data;
using Aha.Model;
using Aha.Runtime;
using Aha.Tasks;
using Aha.Training;
using TorchSharp;

namespace Aha.Cli.Commands;

static class BenchTrainCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Optimizer steps (the first two are warm-up, not timed); RSS growth is read between heap trims at step 10 and the last multiple of 10, so it needs ≥ 20 (use 100 for the memory check).", DefaultValueFactory = _ => 12 };
        var quick = new Option<bool>("--quick") { Description = "A small model and batch, for a check in seconds." };
        var threads = RunOptions.NewThreads();
        var command = new Command("train", "Training speed (tokens/s, MFU against a matmul peak measured in the same run) and memory of the 25.6M-parameter model (d 512, 8 layers, seq 256, batch 16).")
        {
            steps, quick, threads,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            int n = r.GetValue(steps);
            if (n < 3) throw new ArgumentException($"--steps {n}: need at least 3 (two warm-up steps and one timed).");
            RunOptions.InitializeTorch(r, threads);
            bool small = r.GetValue(quick);
            var config = ModelPresets.Get(small ? "small" : "base", 256);
            var options = new LanguageModelTrainerOptions
            {
                Steps = n, BatchSize = small ? 4 : 16, SequenceLength = small ? 64 : 256, LearningRate = 3e-4, WarmupSteps = 2,
                EvalEvery = 0, SaveEvery = 0, LogEvery = small ? 2 : 1,
            };
            double peak = MatmulPeak.Measure();
            torch.manual_seed(0);
            using var model = new LlamaModel(config);
            long parameters = model.parameters().Sum(p => p.numel());
            var tokenizer = ModelPresets.Tokenizer(config);
            var source = new PackedBatchSource(tokenizer, BuiltinCorpus.Documents("arithmetic", TaskSplit.Train), options.BatchSize, options.SequenceLength, 0);
            var seconds = new List<double>();
            long rssAtTen = 0, rssLast = 0;
            var window = BenchCommand.RssWindow(n);
            new LanguageModelTrainer(model, tokenizer, options, source)
            {
                PeakFlops = peak, Log = Console.Error.WriteLine, Warn = Console.Error.WriteLine,
                OnStep = s =>
                {
                    seconds.Add(s.Seconds);
                    if (s.Step == window?.Probe) rssAtTen = BenchCommand.Rss().Now;
                    if (s.Step == window?.Last) rssLast = BenchCommand.Rss().Now;
                },
            }.Run();
            // The peak again at the end; the higher of the two is the denominator, since a neighbour busy during one
            // measurement would lower it and flatter MFU.
            peak = Math.Max(peak, MatmulPeak.Measure());
            double timed = seconds.Skip(2).Sum();
            double tokensPerSecond = options.TokensPerStep * (n - 2) / timed;
            double mfu = Math.Min(1, tokensPerSecond * Flops.TrainingPerToken(config, parameters, options.SequenceLength) / peak); // above 1 only with a stale peak
            long stateBytes = parameters * sizeof(float) * 4; // weights, gradients, AdamW exp_avg and exp_avg_sq
            var (_, peakRss) = BenchCommand.Rss();
            BenchCommand.Report("aha bench train",
            [
                ("model", $"{config.NumHiddenLayers} layers, d {config.HiddenSize}, {config.NumAttentionHeads} heads, ffn {config.IntermediateSize}"),
                ("batch × seq, threads", $"{options.BatchSize} × {options.SequenceLength}, {torch.get_num_threads()}"),
                ("parameters", $"{parameters:N0}"),
                ("tokens/s", $"{tokensPerSecond:N0}"),
                ("seconds/step", $"{timed / (n - 2):F3}"),
                ("matmul peak", $"{peak / 1e9:F1} GFLOP/s"),
                ("MFU", $"{mfu:P1}"),
                ("params+grads+AdamW", BenchCommand.Mib(stateBytes)),
                ("peak RSS", BenchCommand.Mib(peakRss)),
                BenchCommand.RssRow(window, rssAtTen, rssLast),
            ], new JsonObject
            {
                ["bench"] = "train", ["quick"] = small, ["parameters"] = parameters, ["layers"] = config.NumHiddenLayers, ["hidden"] = config.HiddenSize,
                ["seq_len"] = options.SequenceLength, ["batch_size"] = options.BatchSize, ["threads"] = torch.get_num_threads(), ["steps"] = n,
                ["tokens_per_second"] = Math.Round(tokensPerSecond, 1), ["seconds_per_step"] = Math.Round(timed / (n - 2), 4),
                ["matmul_peak_flops"] = Math.Round(peak), ["mfu"] = Math.Round(mfu, 4), ["state_bytes"] = stateBytes,
                ["peak_rss_bytes"] = peakRss, ["rss_step_probe"] = window?.Probe, ["rss_step_last"] = window?.Last, ["rss_at_probe_bytes"] = rssAtTen, ["rss_last_bytes"] = rssLast,
                ["rss_growth"] = window is null ? null : Math.Round((double)rssLast / rssAtTen - 1, 4),
            });
        }));
        return command;
    }
}
