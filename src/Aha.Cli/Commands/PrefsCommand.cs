using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Preferences;
using Aha.Tasks;

namespace Aha.Cli.Commands;

static class PrefsCommand
{
    static readonly PreferenceCollectionOptions Defaults = new();

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The model that writes the completions: a run or checkpoint folder.", Required = true };
        var task = new Option<string>("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}.", DefaultValueFactory = _ => "addition" };
        var output = new Option<string>("--out") { Description = "The pairs file (TRL standard JSON Lines plus label metadata); a summary goes beside it as NAME.summary.json.", DefaultValueFactory = _ => "pairs.jsonl" };
        var prompts = new Option<int>("--prompts") { Description = "Distinct training problems to sample for.", DefaultValueFactory = _ => Defaults.Prompts };
        var samples = new Option<int>("--samples") { Description = "K completions per prompt; each of the K(K−1)/2 pairs with different texts costs one label.", DefaultValueFactory = _ => Defaults.Samples };
        var noise = new Option<double>("--label-noise") { Description = "Share of labels the simulated labeler reverses.", DefaultValueFactory = _ => 0.2 };
        var lengthBias = new Option<double>("--length-bias") { Description = "Chance the longer of two equally right (or wrong) answers wins; else a coin decides.", DefaultValueFactory = _ => 0.5 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest completion; longer ones are truncated.", DefaultValueFactory = _ => Defaults.MaxCompletionTokens };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => Defaults.Temperature };
        var template = new Option<string>("--template") { Description = "Prompt template: short, r1zero or chat.", DefaultValueFactory = _ => "short" };
        var seed = new Option<long>("--seed") { Description = "Seed of problems, samples (sample k of prompt p: seed + p·1009 + k) and labels.", DefaultValueFactory = _ => Defaults.Seed };
        var threads = RunOptions.NewThreads();
        var device = new Option<string>("--device") { Description = "cpu, cuda or auto.", DefaultValueFactory = _ => "auto" };
        var dtype = RunOptions.NewDtype();
        var taskOptions = new TaskOptions();
        var command = new Command("prefs", "Make preference pairs: sample K completions per prompt and label every two with a simulated human (verifier-preferring, noisy, length-biased).")
        {
            model, task, output, prompts, samples, noise, lengthBias, maxTokens, temperature, template, seed, threads, device, dtype,
        };
        taskOptions.AddTo(command);
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            var labeler = new SimulatedLabeler(r.GetValue(noise), r.GetValue(lengthBias), r.GetValue(seed)).Validate();
            var options = new PreferenceCollectionOptions
            {
                Prompts = r.GetValue(prompts), Samples = r.GetValue(samples), MaxCompletionTokens = r.GetValue(maxTokens),
                Temperature = r.GetValue(temperature), PromptStyle = Prompts.ParseStyle(r.GetValue(template)!), Seed = r.GetValue(seed),
            }.Validate();
            var chosen = TaskRegistry.Create(r.GetValue(task)!, taskOptions.Read(r));
            RunOptions.InitializeTorch(r, threads);
            var (policy, checkpoint) = Cli.LoadModel(r.GetValue(model)!, Runtime.TorchRuntime.ResolveDevice(r.GetValue(device)!), RunOptions.ComputeDtype(r, dtype));
            string outPath = r.GetValue(output)!;
            Console.Error.WriteLine($"model {checkpoint.Directory}; task {chosen.Name}; {options.Prompts} prompts × {options.Samples} samples; labeler {labeler.Source} (noise {labeler.LabelNoise}, length bias {labeler.LengthBias})");
            var (pairs, tally) = PreferenceCollector.Collect(policy, checkpoint.Tokenizer, chosen, labeler, options, Console.Error.WriteLine);
            PreferenceCollector.WriteJsonl(outPath, pairs);

            var summary = new JsonObject
            {
                ["command"] = "prefs",
                ["model"] = Path.GetFullPath(checkpoint.Directory),
                ["task"] = chosen.Name,
                ["out"] = Path.GetFullPath(outPath),
                ["label_source"] = labeler.Source,
                ["label_noise"] = labeler.LabelNoise,
                ["length_bias"] = labeler.LengthBias,
                ["seed"] = options.Seed,
                ["prompts"] = tally.Prompts,
                ["samples"] = options.Samples,
                ["completions"] = tally.Completions,
                ["sample_accuracy"] = Round(tally.SampleAccuracy),
                ["human_labels"] = tally.Labels,
                ["pairs"] = pairs.Count,
                ["skipped_identical"] = tally.SkippedIdentical,
                ["abstained"] = tally.Abstained,
                ["decisive_pairs"] = tally.Decisive,
                ["verifier_agreement"] = Round(tally.Agreement),
                ["flipped"] = tally.Flipped,
                ["decided_by_length"] = tally.ByLength,
                ["decided_by_coin"] = tally.ByCoin,
                ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 2),
            };
            string summaryPath = Path.ChangeExtension(outPath, null) + ".summary.json";
            File.WriteAllText(summaryPath + ".tmp", summary.ToJsonString(new() { WriteIndented = true }) + "\n");
            File.Move(summaryPath + ".tmp", summaryPath, overwrite: true);
            Console.Error.WriteLine($"{tally.Labels} human labels ({tally.Flipped} flipped by noise, {tally.ByLength} decided by length, {tally.ByCoin} by a coin); " +
                                    $"{tally.SkippedIdentical} identical pairs skipped; labels agree with the verifier on {tally.DecisiveAgreeing}/{tally.Decisive} pairs where it decides; wrote {pairs.Count} pairs to {outPath}");
            Console.WriteLine(summary.ToJsonString(Aha.Eval.ReportFiles.JsonLine));
        }));
        return command;
    }

    static JsonNode? Round(double value) => double.IsFinite(value) ? Math.Round(value, 4) : null;
}
