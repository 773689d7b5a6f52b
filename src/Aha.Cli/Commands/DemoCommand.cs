using System.CommandLine;
using Aha.Reports;
using Aha.Training;

namespace Aha.Cli.Commands;

static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Report folder (a new folder beside it is used if it already exists).", DefaultValueFactory = _ => "runs/demo" };
        var quick = new Option<bool>("--quick") { Description = "A shorter version (about 5 minutes on 2 cores): shorter pretraining and GRPO, fewer eval problems." };
        var pretrainSteps = new Option<int?>("--pretrain-steps") { Description = "Override the pretraining steps." };
        var grpoSteps = new Option<int?>("--grpo-steps") { Description = "Override the GRPO steps." };
        var threads = RunOptions.NewThreads();
        var seed = new Option<long>("--seed") { Description = "Seed of the whole demo.", DefaultValueFactory = _ => 42 };
        var arch = new Option<string>("--arch") { Description = $"Base model architecture: {string.Join(", ", Architectures.Names)} (v3 = MLA + MoE + MTP).", DefaultValueFactory = _ => "llama" };
        var task = new Option<string?>("--task") { Description = "Run the \"aha moment\" demo on this task instead (signs: sign puzzles, a retry-trace corpus, GRPO with verifier, format-only and random rewards)." };
        var retryShare = new Option<double?>("--retry-share") { Description = "With --task: share of retry traces in the pretraining corpus (default 0.2)." };
        var arms = new Option<string?>("--arms") { Description = "With --task: the GRPO runs, comma-separated from verifier,format,random (default all three; none: base only)." };
        var baseModel = new Option<string?>("--base") { Description = "With --task: start from this pretrained checkpoint (e.g. an earlier run's pretrain/) instead of pretraining." };
        var command = new Command("demo", "R1-Zero on a CPU in minutes: pretrain a base model on built-in data, evaluate, reinforce with GRPO (accuracy + format rewards), evaluate again, write a report.")
        {
            output, quick, pretrainSteps, grpoSteps, threads, seed, arch, task, retryShare, arms, baseModel,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            RunOptions.InitializeTorch(r, threads);
            if (r.GetValue(task) is { } taskName)
                return MomentCommand.Run(r, taskName, output, quick, pretrainSteps, grpoSteps, seed, arch, retryShare, arms, baseModel);
            if (r.GetValue(retryShare) is not null || r.GetValue(arms) is not null || r.GetValue(baseModel) is not null)
                throw new ArgumentException("--retry-share, --arms and --base belong to the aha-moment demo; add --task signs.");
            var options = r.GetValue(quick) ? DemoOptions.Quick : DemoOptions.Full;
            options = options with { Seed = r.GetValue(seed), Arch = r.GetValue(arch)! };
            if (r.GetValue(pretrainSteps) is { } p) options = options with { PretrainSteps = p };
            if (r.GetValue(grpoSteps) is { } g) options = options with { Grpo = options.Grpo with { Steps = g } };
            options.Validate();
            string dir = FreshFolder(r.GetValue(output)!);
            Console.Error.WriteLine($"writing to {dir}");
            var result = TrainingSession.Run(0, 1, (log, _, cancel) => R1ZeroDemo.Run(dir, options, log, cancel));
            var settings = new Dictionary<string, object>
            {
                ["task"] = "addition (two 2-digit numbers), held-out split",
                ["model"] = options.Arch == "llama"
                    ? $"Llama-style, d {options.HiddenSize}, {options.Layers} layers, {options.Heads} heads, byte tokenizer"
                    : $"{Architectures.Describe(options.Arch)}, d {options.HiddenSize}, {options.Layers} layers, {options.Heads} heads, byte tokenizer",
                ["pretrain steps"] = options.PretrainSteps,
                ["pretrain tokens"] = (long)options.PretrainSteps * options.PretrainBatch * options.SequenceLength,
                ["grpo steps"] = options.Grpo.Steps,
                ["prompts × samples per step"] = $"{options.Grpo.PromptsPerStep} × {options.Grpo.GroupSize}",
                ["grpo lr"] = options.Grpo.LearningRate,
                ["beta (KL)"] = options.Grpo.Beta,
                ["clip eps"] = options.Grpo.EpsLow,
                ["rewards"] = "accuracy + format",
                ["template"] = @"short: User: {prompt}\nAssistant:",
                ["eval"] = $"{options.EvalProblems} problems greedy; {options.SampledProblems} × {options.Samples} samples at T 0.6, top-p 0.95",
                ["seed"] = options.Seed,
                ["threads"] = TorchSharp.torch.get_num_threads(),
            };
            string report = DemoReport.Write(dir, new DemoReportInput
            {
                Command = "aha demo" + (r.GetValue(quick) ? " --quick" : "") + (options.Arch == "llama" ? "" : $" --arch {options.Arch}"),
                Settings = settings,
                Base = new ModelEvaluation(result.BaseGreedy, result.BaseSampled),
                Final = new ModelEvaluation(result.FinalGreedy, result.FinalSampled),
                Steps = result.Steps,
                PhaseSeconds = result.PhaseSeconds,
            });
            string metrics = Path.Combine(dir, "grpo", "metrics.jsonl");
            if (File.Exists(metrics)) File.Copy(metrics, Path.Combine(dir, "metrics.jsonl"), overwrite: true);
            Console.Error.WriteLine($"report: {report}");
            var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
            Console.WriteLine(summary.ToJsonString(Aha.Eval.ReportFiles.JsonLine));
            return result.Interrupted ? 130 : 0;
        }));
        return command;
    }

    /// <summary>The folder itself when new or empty, else the first free <c>dir-2</c>, <c>dir-3</c>, …: a demo never overwrites a run.</summary>
    internal static string FreshFolder(string dir)
    {
        string candidate = dir;
        for (int i = 2; Directory.Exists(candidate) && Directory.EnumerateFileSystemEntries(candidate).Any(); i++) candidate = $"{dir}-{i}";
        Directory.CreateDirectory(candidate);
        return candidate;
    }
}
