using System.CommandLine;
using Aha.Training;

namespace Aha.Cli.Commands;

static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Report folder (a new folder beside it is used if it already exists).", DefaultValueFactory = _ => "runs/demo" };
        var quick = new Option<bool>("--quick") { Description = "A ~2-minute version: shorter pretraining and GRPO, fewer eval problems." };
        var pretrainSteps = new Option<int?>("--pretrain-steps") { Description = "Override the pretraining steps." };
        var grpoSteps = new Option<int?>("--grpo-steps") { Description = "Override the GRPO steps." };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var seed = new Option<long>("--seed") { Description = "Seed of the whole demo.", DefaultValueFactory = _ => 42 };
        var command = new Command("demo", "R1-Zero on a CPU in minutes: pretrain a base model on built-in data, evaluate, reinforce with GRPO (accuracy + format rewards), evaluate again, write a report.")
        {
            output, quick, pretrainSteps, grpoSteps, threads, seed,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            Runtime.TorchRuntime.Initialize(r.GetValue(threads));
            var options = r.GetValue(quick) ? DemoOptions.Quick : DemoOptions.Full;
            options = options with { Seed = r.GetValue(seed) };
            if (r.GetValue(pretrainSteps) is { } p) options = options with { PretrainSteps = p };
            if (r.GetValue(grpoSteps) is { } g) options = options with { Grpo = options.Grpo with { Steps = g } };
            options.Validate();
            string dir = FreshFolder(r.GetValue(output)!);
            Console.Error.WriteLine($"writing to {dir}");
            var result = TrainingSession.Run(0, 1, (log, _, cancel) => R1ZeroDemo.Run(dir, options, log, cancel));
            Console.WriteLine(DemoSummary.Write(dir, options, result));
            return result.Interrupted ? 130 : 0;
        }));
        return command;
    }

    /// <summary>The folder itself when new or empty, else the first free <c>dir-2</c>, <c>dir-3</c>, …: a demo never overwrites a run.</summary>
    static string FreshFolder(string dir)
    {
        string candidate = dir;
        for (int i = 2; Directory.Exists(candidate) && Directory.EnumerateFileSystemEntries(candidate).Any(); i++) candidate = $"{dir}-{i}";
        Directory.CreateDirectory(candidate);
        return candidate;
    }
}
