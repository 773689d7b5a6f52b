using System.CommandLine;
using Aha.Runtime;
using TorchSharp;

namespace Aha.Cli.Commands;

/// <summary>Options about the run rather than the model: resuming, threads, device, bad rows.</summary>
sealed class RunOptions
{
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue the run in --out from its latest checkpoint (exactly: weights, optimizer, data position, step)." };
    public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "Delete an existing run in --out and start again." };
    public Option<int> Threads { get; } = new("--threads") { Description = "CPU threads (0 = all cores).", DefaultValueFactory = _ => 0 };
    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda or auto.", DefaultValueFactory = _ => "auto" };
    public Option<bool> SkipBadRows { get; } = new("--skip-bad-rows") { Description = "Skip malformed data rows and report them, instead of stopping at the first." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Resume, Overwrite, Threads, Device, SkipBadRows }) command.Options.Add(option);
    }

    /// <summary>Loads libtorch with the requested threads and resolves the device.</summary>
    public torch.Device Initialize(ParseResult result)
    {
        int threads = result.GetValue(Threads);
        if (threads < 0) throw new ArgumentException($"--threads {threads}: must be 0 (all cores) or positive.");
        TorchRuntime.Initialize(threads);
        return TorchRuntime.ResolveDevice(result.GetValue(Device)!);
    }
}
