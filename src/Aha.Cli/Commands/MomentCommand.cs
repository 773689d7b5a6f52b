using System.CommandLine;
using Aha.Reports;
using Aha.Training;

namespace Aha.Cli.Commands;

/// <summary><c>aha demo --task signs</c>: the aha-moment demo (see <see cref="MomentDemo"/>), its options and report.</summary>
static class MomentCommand
{
    public static IReadOnlyList<string> Tasks { get; } = ["signs"];

    public static int Run(ParseResult r, string taskName, Option<string> output, Option<bool> quick, Option<int?> pretrainSteps, Option<int?> grpoSteps,
        Option<long> seed, Option<string> arch, Option<double?> retryShare, Option<string?> arms, Option<string?> baseModel)
    {
        if (!Tasks.Contains(taskName)) throw new ArgumentException($"--task {taskName}: the aha-moment demo runs on {string.Join(", ", Tasks)}; without --task, aha demo runs addition.");
        if (r.GetValue(quick)) throw new ArgumentException("--quick is for the addition demo; with --task shorten it with --pretrain-steps and --grpo-steps.");
        var options = new MomentOptions();
        var demo = options.Demo with { Seed = r.GetValue(seed), Arch = r.GetValue(arch)! };
        if (r.GetValue(pretrainSteps) is { } p) demo = demo with { PretrainSteps = p };
        if (r.GetValue(grpoSteps) is { } g) demo = demo with { Grpo = demo.Grpo with { Steps = g } };
        options = options with { Demo = demo };
        if (r.GetValue(retryShare) is { } share) options = options with { Corpus = options.Corpus with { RetryShare = share } };
        if (r.GetValue(arms) is { } list)
            options = options with { Arms = list == "none" ? [] : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
        if (r.GetValue(baseModel) is { } b) options = options with { BaseModel = b };
        options.Validate();
        string dir = DemoCommand.FreshFolder(r.GetValue(output) == "runs/demo" ? "runs/demo-signs" : r.GetValue(output)!);
        Console.Error.WriteLine($"writing to {dir}");
        var result = TrainingSession.Run(0, 1, (log, _, cancel) => MomentDemo.Run(dir, options, log, cancel));
        var command = "aha demo --task signs"
            + (r.GetValue(pretrainSteps) is { } ps ? $" --pretrain-steps {ps}" : "")
            + (r.GetValue(grpoSteps) is { } gs ? $" --grpo-steps {gs}" : "")
            + (r.GetValue(retryShare) is { } rs ? $" --retry-share {rs.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "")
            + (r.GetValue(arms) is { } a ? $" --arms {a}" : "")
            + (r.GetValue(baseModel) is { } bm ? $" --base {bm}" : "")
            + (options.Demo.Seed != 42 ? $" --seed {options.Demo.Seed}" : "");
        string report = MomentReport.Write(dir, command, options, result, TorchSharp.torch.get_num_threads());
        Console.Error.WriteLine($"report: {report}");
        Console.WriteLine(File.ReadAllText(Path.Combine(dir, MomentReport.SummaryFile)).ReplaceLineEndings(" "));
        return result.Interrupted ? 130 : 0;
    }
}
