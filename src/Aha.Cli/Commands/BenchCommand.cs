using Aha.Runtime;
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Aha.Cli.Commands;

/// <summary>`aha bench train|generate|arch|grpo|faults|load|serve`: speed and memory on this machine, a table and one JSON line last. Never asserted in tests.</summary>
static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure training and generation speed and memory on this machine (a table, then one JSON line).");
        command.Subcommands.Add(BenchTrainCommand.Create());
        command.Subcommands.Add(BenchGenerateCommand.Create());
        command.Subcommands.Add(BenchArchCommand.Create());
        command.Subcommands.Add(BenchGrpoCommand.Create());
        command.Subcommands.Add(BenchFaultsCommand.Create());
        command.Subcommands.Add(BenchLoadCommand.Create());
        command.Subcommands.Add(BenchGrpoMemoryCommand.Create());
        command.Subcommands.Add(BenchServeCommand.Create());
        return command;
    }

    /// <summary>Resident memory now and at its peak, in bytes (Linux: VmRSS and VmHWM).</summary>
    public static (long Now, long Peak) Rss()
    {
        using var self = Process.GetCurrentProcess();
        return (self.WorkingSet64, self.PeakWorkingSet64);
    }

    /// <summary>Prints the rows as a two-column table, then the JSON object as one line.</summary>
    public static void Report(string title, IEnumerable<(string Name, string Value)> rows, JsonObject json)
    {
        var table = new Table().Title(title).AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (name, value) in rows) table.AddRow(Markup.Escape(name), Markup.Escape(value));
        AnsiConsole.Write(table);
        Console.WriteLine(json.ToJsonString(Aha.Eval.ReportFiles.JsonLine));
    }

    public static string Mib(long bytes) => $"{bytes / (1024.0 * 1024.0):N1} MiB";

    /// <summary>Relative change from <paramref name="from"/> to <paramref name="to"/>, marked against the 5% budget for steady-state growth.</summary>
    /// <summary>
    /// The steps between which RSS growth means something: both right after a heap trim (the 10th step and the last
    /// multiple of 10). A pair that is not compares a trimmed heap with an untrimmed one (+347% at step 12 said nothing).
    /// </summary>
    public static (int Probe, int Last)? RssWindow(int completedSteps) =>
        completedSteps >= 2 * NativeMemory.TrimEvery ? (NativeMemory.TrimEvery, completedSteps / NativeMemory.TrimEvery * NativeMemory.TrimEvery) : null;

    /// <summary>The RSS row of a benchmark table: growth over <see cref="RssWindow"/>, or why there is none.</summary>
    public static (string Label, string Value) RssRow((int Probe, int Last)? window, long atProbe, long atLast) => window is { } w
        ? ($"RSS at step {w.Probe} → {w.Last}", $"{Mib(atProbe)} → {Mib(atLast)} ({Growth(atProbe, atLast)})")
        : ("RSS growth", $"n/a (needs ≥ {2 * NativeMemory.TrimEvery} steps: growth is read between two heap trims)");

    public static string Growth(long from, long to)
    {
        double growth = (double)to / from - 1;
        return $"{growth:+0.0%;-0.0%}, {(growth <= 0.05 ? "within" : "over")} the 5% budget";
    }
}
