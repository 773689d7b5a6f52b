using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Generation;
using Aha.Model;
using Aha.Runtime;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Training;
using TorchSharp;

namespace Aha.Cli.Commands;

static class BenchGrpoCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Timed GRPO steps (after one warm-up step); RSS growth is read between heap trims at step 10 and the last multiple of 10, so it needs ≥ 19 (use 100 for the memory check).", DefaultValueFactory = _ => 5 };
        var size = new Option<string>("--model-size") { Description = $"Policy shape: {string.Join(", ", ModelPresets.Names)} (small is the demo's).", DefaultValueFactory = _ => "small" };
        var threads = RunOptions.NewThreads();
        var command = new Command("grpo", "GRPO step time by phase (generation, reward, reference, update) with the demo's settings (16 prompts × 8 samples, 64 tokens, β 0.001) on a random policy, and the engine's rate at the same batch shape.")
        {
            steps, size, threads,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            RunOptions.InitializeTorch(r, threads);
            int timed = r.GetValue(steps);
            if (timed <= 0) throw new ArgumentException($"--steps {timed}: must be positive.");
            var config = ModelPresets.Get(r.GetValue(size)!, 256);
            torch.manual_seed(0);
            var model = new LlamaModel(config);
            var tokenizer = ModelPresets.Tokenizer(config);
            var task = TaskRegistry.Addition();
            // A random policy never stops early, so every rollout runs to the token limit: the worst case for generation.
            // It also never earns accuracy or format, so a synthetic reward (first byte ASCII, about half the samples)
            // gives every group signal and the update phase runs as it would in training.
            var options = new GrpoOptions();
            var rewards = new RewardSet([.. RewardSet.R1Zero(task).Terms,
                (new DelegateReward("bench_ascii_first", c => c.Text.Length > 0 && c.Text[0] < 128 ? 1f : 0f), 1f)]);
            using var trainer = new GrpoTrainer(model, tokenizer, task, rewards, options) { Log = _ => { } };
            trainer.Step(0); // warm-up
            var phases = new[] { "generation", "reward", "reference", "update" };
            var totals = phases.ToDictionary(p => p, _ => 0.0);
            double sampled = 0, wall = 0;
            long rssAtProbe = 0, rssLast = 0;
            var window = BenchCommand.RssWindow(timed + 1); // with the warm-up step, Step(s) completes s + 1 steps
            for (int s = 1; s <= timed; s++)
            {
                var clock = Stopwatch.StartNew();
                var step = trainer.Step(s);
                NativeMemory.TrimOnCadence(s + 1); // the run loop's cadence: Step(s) completes step s + 1
                if (s + 1 == window?.Probe) rssAtProbe = BenchCommand.Rss().Now;
                if (s + 1 == window?.Last) rssLast = BenchCommand.Rss().Now;
                wall += clock.Elapsed.TotalSeconds;
                foreach (var p in phases) totals[p] += step[$"seconds_{p}"];
                sampled += step["completion_tokens"] * options.PromptsPerStep * options.GroupSize;
            }

            // The engine alone at the same shape: P·G rows, the same prompts' length, token limit and stopping rules.
            var prompts = task.Items(TaskSplit.Train).Take(options.PromptsPerStep)
                .Select(item => PromptSpec.For(tokenizer, task, item, options.PromptStyle)).ToList();
            var requests = prompts.SelectMany((spec, p) => Enumerable.Range(0, options.GroupSize)
                .Select(g => new GenerationRequest(spec.Ids, PromptSpec.SampleSeed(0, 0, p, g)))).ToList();
            var engineClock = Stopwatch.StartNew();
            var completions = new Engine(model).Generate(requests, new SamplingOptions
            {
                MaxNewTokens = options.MaxCompletionTokens, StopTokenIds = prompts[0].StopIds,
            }, StopStrings.After(tokenizer, prompts[0].StopStrings)); // GRPO's own stopping rules, so rows finish alike
            double engineRate = completions.Sum(c => c.TokenIds.Count) / engineClock.Elapsed.TotalSeconds;
            double grpoRate = sampled / totals["generation"];

            var rows = new List<(string, string)>
            {
                ("policy", $"{config.NumHiddenLayers} layers, d {config.HiddenSize}, {model.parameters().Sum(p => p.numel()):N0} parameters"),
                ("rollouts per step", $"{options.PromptsPerStep} × {options.GroupSize}, ≤ {options.MaxCompletionTokens} tokens, threads {torch.get_num_threads()}"),
                ("seconds per step", $"{wall / timed:F3}"),
            };
            foreach (var p in phases) rows.Add(($"  {p}", $"{totals[p] / timed:F3} s ({totals[p] / wall:P1})"));
            rows.Add(("sampled tokens/s in GRPO", $"{grpoRate:N0}"));
            rows.Add(("engine alone, same shape", $"{engineRate:N0} tokens/s (GRPO at {grpoRate / engineRate:P0} of it)"));
            rows.Add(BenchCommand.RssRow(window, rssAtProbe, rssLast));
            var json = new JsonObject
            {
                ["rss_step_probe"] = window?.Probe, ["rss_step_last"] = window?.Last, ["rss_at_probe_bytes"] = rssAtProbe, ["rss_last_bytes"] = rssLast,
                ["rss_growth"] = window is null ? null : Math.Round((double)rssLast / rssAtProbe - 1, 4),
                ["bench"] = "grpo", ["steps"] = timed, ["parameters"] = model.parameters().Sum(p => p.numel()),
                ["seconds_per_step"] = Math.Round(wall / timed, 4), ["tokens_per_second"] = Math.Round(grpoRate, 1),
                ["engine_tokens_per_second"] = Math.Round(engineRate, 1), ["generation_share"] = Math.Round(totals["generation"] / wall, 4),
            };
            foreach (var p in phases) json[$"seconds_{p}"] = Math.Round(totals[p] / timed, 4);
            BenchCommand.Report("aha bench grpo", rows, json);
        }));
        return command;
    }
}
