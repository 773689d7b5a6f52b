using System.Globalization;
using System.Text.RegularExpressions;
using Aha.Checkpoints;
using Aha.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>What one step of a trainer tells the loop: the metrics row, and whether its update was skipped (non-finite).</summary>
/// <param name="Step">Steps completed, counting this one.</param>
/// <param name="Scalars">The row written to metrics.jsonl; a NaN value ("not computed") is written as null.</param>
/// <param name="Skipped">The loss or gradient norm was non-finite and the update was not applied.</param>
public sealed record LoopStep(long Step, IReadOnlyDictionary<string, double> Scalars, bool Skipped);

/// <summary>How <see cref="RunLoop.Run"/> ended; the trainer adds its own numbers to make a <see cref="TrainingResult"/>.</summary>
public sealed record LoopResult(TrainingOutcome Outcome, long Step, long SkippedSteps, string? Checkpoint);

/// <summary>
/// The run loop every trainer shares: steps, the first cancellation saves and returns, save cadence, orphan cleanup,
/// the non-finite streak, metrics rows, heap trim. A trainer supplies its step, its save, and what it does after each
/// step (progress line, validation, callbacks); the loop owns everything about the run around them.
/// </summary>
public sealed partial class RunLoop
{
    /// <summary>Steps of the whole run (the loop stops after this many are completed).</summary>
    public required long Steps { get; init; }
    /// <summary>Checkpoint every N steps; the last step and a cancellation always save. 0 = only those.</summary>
    public int SaveEvery { get; init; }
    /// <summary>Skipped (non-finite) steps in a row before the run aborts, keeping the last good checkpoint.</summary>
    public int MaxBadSteps { get; init; } = 5;
    /// <summary>Where checkpoints and metrics.jsonl go; null runs without either.</summary>
    public string? RunDirectory { get; init; }
    /// <summary>Also write TensorBoard event files.</summary>
    public bool TensorBoard { get; init; }
    /// <summary>The <c>phase</c> of each metrics row ("train", "grpo", …).</summary>
    public string Phase { get; init; } = "train";
    public Action<string> Warn { get; init; } = Console.Error.WriteLine;

    /// <summary>Runs step N (N steps completed before it) and reports what it measured.</summary>
    public required Func<long, LoopStep> Step { get; init; }
    /// <summary>Writes the checkpoint of <c>step</c> completed steps and returns its folder (null when not saving).</summary>
    public required Func<long, string?> Save { get; init; }
    /// <summary>The weights to check before a save: a non-finite weight is never written to a checkpoint.</summary>
    public required Func<IEnumerable<Tensor>> Weights { get; init; }
    /// <summary>After each step's metrics row, also the step that aborts the run: progress lines, validation rows, callbacks.</summary>
    public Action<LoopStep, MetricsLog?>? AfterStep { get; init; }

    /// <summary>Runs from <paramref name="firstStep"/> (0, or the step a checkpoint was resumed at) to <see cref="Steps"/>.</summary>
    public LoopResult Run(long firstStep, CancellationToken cancel)
    {
        RemoveCheckpointsAfter(firstStep);
        using var metrics = RunDirectory is null ? null : new MetricsLog(RunDirectory, TensorBoard);
        long step = firstStep, skipped = 0;
        long savedStep = firstStep > 0 ? firstStep : -1; // a resumed step is already on disk
        int badInRow = 0;
        string? saved = null;
        while (step < Steps)
        {
            if (cancel.IsCancellationRequested)
            {
                // A bad streak means the weights may be poisoned: the last good checkpoint is worth more than this state.
                if (badInRow == 0 && savedStep != step) saved = SaveIfFinite(step) ?? saved;
                Warn($"interrupted at step {step}; {(saved is null ? "nothing new saved" : $"saved {saved}")}. Resume with --resume.");
                return new(TrainingOutcome.Interrupted, step, skipped, saved);
            }

            var report = Step(step);
            step++;
            metrics?.Write(Phase, step, report.Scalars);
            if (report.Skipped)
            {
                skipped++;
                badInRow++;
                Warn($"step {step}: non-finite loss or gradient norm; update skipped ({badInRow} of {MaxBadSteps} allowed in a row).");
            }
            else badInRow = 0;
            NativeMemory.TrimOnCadence(step); // before the callbacks, so a memory probe there reads the trimmed heap
            AfterStep?.Invoke(report, metrics);
            if (badInRow >= MaxBadSteps)
            {
                Warn($"aborting: {badInRow} non-finite steps in a row. The last good checkpoint is kept{(RunDirectory is null ? "" : $" in {RunDirectory}")}; lower --lr or check the data.");
                return new(TrainingOutcome.Diverged, step, skipped, saved);
            }

            if (badInRow == 0 && ((SaveEvery > 0 && step % SaveEvery == 0) || step == Steps))
            {
                var path = SaveIfFinite(step);
                if (path is null && RunDirectory is not null) badInRow++; // poisoned weights: the next steps will say so too
                else (saved, savedStep) = (path ?? saved, step);
            }
        }
        if (badInRow > 0) Warn($"the last step was non-finite, so it was not saved; the newest checkpoint is {saved ?? "none"}.");
        return new(TrainingOutcome.Completed, step, skipped, saved);
    }

    string? SaveIfFinite(long step)
    {
        if (RunDirectory is null) return null;
        if (!AllFinite(Weights()))
        {
            Warn($"step {step}: the weights hold NaN or ∞; not saved, so the last good checkpoint stays the newest.");
            return null;
        }
        return Save(step);
    }

    /// <summary>
    /// What every trainer's resume starts with: the weights and AdamW moments of <paramref name="resume"/>, and its state.
    /// A model stored narrower than it trains (BF16 on disk, float32 in memory) gets its float32 master weights back.
    /// </summary>
    public static TrainingState Restore(Checkpoint resume, nn.Module model, TorchSharp.Modules.AdamW optimizer)
    {
        var state = resume.State ?? throw new InvalidDataException(
            $"{resume.Directory} has no {Checkpoint.StateFile}, so it cannot be resumed; start a new run from its weights instead.");
        resume.LoadModel(model);
        using var scope = NewDisposeScope();
        var saved = resume.LoadOptimizer();
        string source = Path.Combine(resume.Directory, Checkpoint.OptimizerFile);
        MasterWeights.Restore(model.state_dict(), saved, source);
        AdamWState.Import(optimizer, model, saved, source);
        return state;
    }

    /// <summary>Whether every element of every tensor is finite (one reduction per tensor, no copies to the host).</summary>
    public static bool AllFinite(IEnumerable<Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return tensors.All(t => t.isfinite().all().item<bool>());
    }

    /// <summary>
    /// A step folder newer than the starting point is either the orphan of a save killed before <c>latest</c> moved to
    /// it (complete, so it validates: the resumed run rewrites it identically, and leaving it would block that save), or a
    /// checkpoint the resume skipped because it does not validate. The orphan is deleted; the damaged one is evidence, so
    /// it is moved aside to <c>step-N.damaged</c>, which loads and pruning ignore.
    /// </summary>
    void RemoveCheckpointsAfter(long step)
    {
        if (RunDirectory is null || !Directory.Exists(RunDirectory)) return;
        foreach (var dir in Directory.EnumerateDirectories(RunDirectory).ToList())
        {
            var match = StepFolder().Match(Path.GetFileName(dir));
            if (!match.Success || long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) <= step) continue;
            if (Checkpoint.Validate(dir) is { } problem)
            {
                string aside = MoveAside(dir);
                RepointLatest(Path.GetFileName(dir), step);
                Warn($"moving {dir} aside to {Path.GetFileName(aside)}: it was skipped on resume as damaged ({problem}); kept for inspection, " +
                     "ignored by loads and pruning. Its steps will be trained again.");
                continue;
            }
            Warn($"removing {dir}: newer than the checkpoint this run starts from (a save interrupted before 'latest' moved); it will be written again.");
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A 'latest' that named the folder just moved aside now names the checkpoint this run starts from, so a kill before the next save resumes without a warning.</summary>
    void RepointLatest(string movedName, long step)
    {
        string pointer = Path.Combine(RunDirectory!, Checkpoint.LatestFile);
        string start = Checkpoint.StepName(step);
        if (File.Exists(pointer) && File.ReadAllText(pointer).Trim() == movedName && Directory.Exists(Path.Combine(RunDirectory!, start)))
            Durable.ReplaceText(pointer, start + "\n");
    }

    /// <summary>Renames a damaged step folder to <c>step-N.damaged</c> (or <c>.damaged-2</c>, … when an earlier one is there).</summary>
    static string MoveAside(string dir)
    {
        string target = dir + DamagedSuffix;
        for (int i = 2; Directory.Exists(target) || File.Exists(target); i++) target = $"{dir}{DamagedSuffix}-{i}";
        Directory.Move(dir, target);
        return target;
    }

    /// <summary>The suffix a damaged checkpoint folder gets when a resume moves it aside (e.g. <c>step-000004.damaged</c>).</summary>
    public const string DamagedSuffix = ".damaged";

    [GeneratedRegex(@"^step-(\d+)$")]
    private static partial Regex StepFolder();
}
