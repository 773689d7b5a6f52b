using Aha.Tasks.Datasets;

namespace Aha.Cli.Commands;

/// <summary>Turns the errors users can fix (bad input, bad options) into one line on stderr and exit code 1, not a stack trace.</summary>
static class Cli
{
    public static int Run(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is BadRowException or ArgumentException or FileNotFoundException or InvalidDataException or IOException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
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
}
