using Aha.Checkpoints;
using Aha.Model;
using Aha.Tasks.Datasets;
using static TorchSharp.torch;

namespace Aha.Cli.Commands;

/// <summary>Turns the errors users can fix (bad input, bad options) into one line on stderr and exit code 1, not a stack trace.</summary>
static class Cli
{
    public static int Run(Action action) => Run(() => { action(); return 0; });

    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is BadRowException or ArgumentException or FileNotFoundException or InvalidDataException or IOException
                                      or UnauthorizedAccessException)
        {
            // Library messages name the API; at the command line the fix is an option.
            Console.Error.WriteLine($"error: {e.Message.Replace("pass a BadRowReport as skipBadRows to skip bad rows", "pass --skip-bad-rows to skip them", StringComparison.Ordinal)}");
            return 1;
        }
    }

    public static void ReportSkipped(int skipped, IReadOnlyList<string> problems)
    {
        Console.Error.WriteLine($"skipped {skipped} bad row(s); first ones:");
        foreach (var problem in problems) Console.Error.WriteLine($"  {problem}");
    }

    /// <summary>A checkpoint folder, or a run folder (its <c>latest</c> checkpoint).</summary>
    public static Checkpoint OpenCheckpoint(string path) =>
        File.Exists(Path.Combine(path, Checkpoint.LatestFile)) ? Checkpoint.LoadLatest(path) : Checkpoint.Open(path);

    /// <summary>The model of a checkpoint or run folder on <paramref name="device"/>, weights loaded, in eval mode.</summary>
    public static (LlamaModel Model, Checkpoint Checkpoint) LoadModel(string path, Device device)
    {
        var checkpoint = OpenCheckpoint(path);
        var model = new LlamaModel(checkpoint.Config, device);
        checkpoint.LoadModel(model);
        model.eval();
        return (model, checkpoint);
    }
}
