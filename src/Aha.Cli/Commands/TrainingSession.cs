using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Training;
using Spectre.Console;

namespace Aha.Cli.Commands;

/// <summary>What `aha pretrain` and `aha sft` do around the trainer: the run folder, signals, the progress display, summary.json.</summary>
static class TrainingSession
{
    /// <summary>
    /// Makes sure a run folder is never lost by accident: a folder with anything in it is only reused with --resume
    /// (continue from its latest checkpoint) or --overwrite (delete it first). Returns the checkpoint to resume from.
    /// </summary>
    public static Checkpoint? PrepareRunFolder(string dir, bool resume, bool overwrite)
    {
        if (resume && overwrite) throw new ArgumentException("--resume and --overwrite contradict each other: pick one.");
        if (resume)
        {
            RunFolder.EnsureWritable(dir);
            var latest = Checkpoint.TryLoadNewestValid(dir, warning => Console.Error.WriteLine($"warning: {warning}"));
            if (latest is null) Console.Error.WriteLine($"note: {dir} has no checkpoint yet; starting a fresh run there.");
            else Console.Error.WriteLine($"resuming from {latest.Directory} (step {latest.State?.Step})");
            return latest;
        }
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            if (!overwrite)
                throw new IOException($"{dir} already holds a run. Pass --resume to continue it, --overwrite to delete it and start again, or choose another --out.");
            Console.Error.WriteLine($"--overwrite: deleting {dir}");
            Directory.Delete(dir, recursive: true);
        }
        RunFolder.EnsureWritable(dir);
        return null;
    }

    /// <summary>Runs the trainer; the first Ctrl-C/SIGTERM asks it to save and stop, a second one kills the process.</summary>
    public static TrainingResult Run(Func<Action<string>, Action<StepReport>?, LanguageModelTrainer> build, long firstStep, long steps, Checkpoint? resume) =>
        Run(firstStep, steps, (log, progress, cancel) =>
            build(log, progress is null ? null : report => progress(report.Step)).Run(resume, cancel));

    /// <summary>
    /// Runs a training loop with a live progress bar (when the console is interactive) and signal handling: the first
    /// Ctrl-C/SIGTERM cancels the token so the loop saves and returns, a second one kills the process.
    /// The loop gets where to log lines, where to report its step (null without a bar) and the token.
    /// </summary>
    public static T Run<T>(long firstStep, long steps, Func<Action<string>, Action<long>?, CancellationToken, T> loop)
    {
        using var cancel = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            if (cancel.IsCancellationRequested) return; // second signal: default handling terminates
            context.Cancel = true;
            Console.Error.WriteLine($"{context.Signal}: finishing the current step, saving a checkpoint and exiting (send again to kill).");
            cancel.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        bool interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!interactive) return loop(Console.WriteLine, null, cancel.Token);
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("training", maxValue: steps);
                task.Value = firstStep;
                // Lines written through AnsiConsole appear above the live bar instead of tearing it.
                result = loop(line => AnsiConsole.WriteLine(line), step => task.Value = step, cancel.Token);
            });
        return result;
    }

    /// <summary>
    /// The run's data file: --data, or on resume the one the run was started with. An exact resume needs the same data,
    /// so a different --data on resume is refused; a file that does not exist is refused before any work.
    /// </summary>
    public static string? DataFile(string? given, TrainingState? saved)
    {
        static string? Full(string? path) => path is null ? null : Path.GetFullPath(path);
        if (saved is not null && given is not null && Full(given) != Full(saved.Get<string>("data")))
            throw new ArgumentException($"--data {given} differs from the resumed run's {saved.Get<string>("data") ?? "built-in corpus"}; an exact resume needs the same data. Start a new run with another --out.");
        string? file = given ?? saved?.Get<string>("data");
        if (file is not null && !File.Exists(file)) throw new FileNotFoundException($"--data {file}: no such file.");
        return file;
    }

    /// <summary>Writes OUT/summary.json and returns the same object as one JSON line for stdout.</summary>
    public static string WriteSummary(string dir, string command, TrainingResult result, long parameters, Stopwatch clock, JsonObject? extra = null)
    {
        var summary = new JsonObject
        {
            ["command"] = command,
            ["outcome"] = result.Outcome.ToString().ToLowerInvariant(),
            ["step"] = result.Step,
            ["loss"] = Finite(result.Loss),
            ["val_loss"] = Finite(result.ValidationLoss),
            ["tokens_per_second"] = Math.Round(result.TokensPerSecond, 1),
            ["mfu"] = Math.Round(result.Mfu, 5),
            ["skipped_steps"] = result.SkippedSteps,
            ["parameters"] = parameters,
            ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 2),
            ["run_dir"] = Path.GetFullPath(dir),
            ["checkpoint"] = result.Checkpoint,
        };
        foreach (var (key, value) in extra ?? []) summary[key] = value?.DeepClone();
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "summary.json"), tmp = path + ".tmp";
        File.WriteAllText(tmp, summary.ToJsonString(new() { WriteIndented = true }) + "\n");
        File.Move(tmp, path, overwrite: true); // never a half-written summary
        return summary.ToJsonString(Aha.Eval.ReportFiles.JsonLine);
    }

    static JsonNode? Finite(double? value) => value is { } v && double.IsFinite(v) ? Math.Round(v, 5) : null;

    /// <summary>Exit code: 0 completed, 130 interrupted (the shell's code for Ctrl-C), 3 diverged.</summary>
    public static int ExitCode(TrainingResult result) => result.Outcome switch
    {
        TrainingOutcome.Completed => 0,
        TrainingOutcome.Interrupted => 130,
        _ => 3,
    };
}
