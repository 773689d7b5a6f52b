using System.CommandLine;
using Aha.Runtime;
using TorchSharp;

namespace Aha.Cli.Commands;

/// <summary>Options about the run rather than the model: resuming, threads, device, bad rows.</summary>
sealed class RunOptions
{
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue the run in --out from its latest checkpoint (exactly: weights, optimizer, data position, step)." };
    public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "Delete an existing run in --out and start again." };
    public Option<int> Threads { get; } = NewThreads();
    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda or auto.", DefaultValueFactory = _ => "auto" };
    public Option<bool> SkipBadRows { get; } = new("--skip-bad-rows") { Description = "Skip malformed data rows and report them, instead of stopping at the first." };
    public Option<string> Dtype { get; } = NewDtype();

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Resume, Overwrite, Threads, Device, SkipBadRows, Dtype }) command.Options.Add(option);
    }

    /// <summary>The --dtype option: the dtype parameters and activations are computed in, whatever the checkpoint stores.</summary>
    public static Option<string> NewDtype() => new("--dtype")
    {
        Description = "Compute dtype: float32 (default; exact on CPU) or bfloat16 (half the memory). Checkpoints still save in their config's torch_dtype.",
        DefaultValueFactory = _ => "float32",
    };

    /// <summary>The compute dtype <paramref name="option"/> asks for.</summary>
    public static torch.ScalarType ComputeDtype(ParseResult result, Option<string> option) => result.GetValue(option) switch
    {
        "float32" or "fp32" => torch.ScalarType.Float32,
        "bfloat16" or "bf16" => torch.ScalarType.BFloat16,
        var other => throw new ArgumentException($"--dtype '{other}' is not supported; use float32 or bfloat16."),
    };

    /// <summary>The compute dtype this command's --dtype asks for.</summary>
    public torch.ScalarType ComputeDtype(ParseResult result) => ComputeDtype(result, Dtype);

    /// <summary>Loads libtorch with the requested threads and resolves the device.</summary>
    public torch.Device Initialize(ParseResult result)
    {
        InitializeTorch(result, Threads);
        return TorchRuntime.ResolveDevice(result.GetValue(Device)!);
    }

    /// <summary>The --threads option, for commands (demo, bench) that take it without the other run options.</summary>
    public static Option<int> NewThreads() => new("--threads") { Description = "CPU threads (0 = all cores).", DefaultValueFactory = _ => 0 };

    /// <summary>Loads libtorch with the threads <paramref name="threads"/> asks for, after checking the value.</summary>
    public static void InitializeTorch(ParseResult result, Option<int> threads)
    {
        int count = result.GetValue(threads);
        if (count < 0) throw new ArgumentException($"--threads {count}: must be 0 (all cores) or positive.");
        TorchRuntime.Initialize(count);
    }
}
