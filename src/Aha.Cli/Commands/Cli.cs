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
        catch (Exception e) when (e is BadRowException or ArgumentException or FileNotFoundException or InvalidDataException or IOException or NotSupportedException
                                      or UnauthorizedAccessException or Aha.Tokenizer.Jinja.JinjaTemplateException or Aha.Remote.EndpointException)
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

    /// <summary>The --k option of score and eval: comma-separated positive integers, sorted and distinct; null when absent.</summary>
    public static IReadOnlyList<int>? ParseKs(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => int.TryParse(part, out var k) && k > 0 ? k : throw new ArgumentException($"--k: '{part}' is not a positive integer; write e.g. 1,4,8."))
            .Distinct().Order().ToList();
    }

    /// <summary>The model of a checkpoint or run folder on <paramref name="device"/>, weights loaded, in eval mode.</summary>
    public static (LlamaModel Model, Checkpoint Checkpoint) LoadModel(string path, Device device, ScalarType dtype = ScalarType.Float32)
    {
        var (model, checkpoint) = ModelLoader.OpenAndLoad(path, device, dtype); // a live run may prune what 'latest' named a moment ago
        model.eval();
        return (model, checkpoint);
    }
}
