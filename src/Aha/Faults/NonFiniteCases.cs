using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Training;
using static TorchSharp.torch;

namespace Aha.Faults;

/// <summary>One NaN/∞ injection into a real CLI run: the trainer, the <see cref="NonFiniteInjection"/> text, and whether it must abort.</summary>
/// <param name="Args">The run's `aha` arguments without --out (a checkpoint after every step).</param>
/// <param name="Injection">The value of AHA_INJECT_NONFINITE, e.g. <c>loss@2</c> or <c>weights@2:inf</c>.</param>
/// <param name="Aborts">True when the injection spans the non-finite streak limit (or poisons the weights, which stay poisoned).</param>
public sealed record NonFiniteCase(string Trainer, IReadOnlyList<string> Args, string Injection, bool Aborts)
{
    /// <summary>The step index (steps completed before it) every case poisons first: two good checkpoints exist by then.</summary>
    public const int FirstBadStep = 2;
    /// <summary>Steps of each case's run: room for a whole streak after the first bad step.</summary>
    public const int Steps = 8;
    /// <summary>The non-finite streak that aborts a run (the trainers' default --max-bad-steps).</summary>
    public const int MaxBadSteps = 5;
}

/// <summary>What one case did, and what was wrong with it (null when it behaved as promised).</summary>
public sealed record NonFiniteOutcome(NonFiniteCase Case, int ExitCode, string? Problem)
{
    public bool Passed => Problem is null;
}

/// <summary>
/// NaN and ∞ injected into the loss, the gradients and the weights of pretrain, SFT and GRPO runs of the real CLI. A
/// single bad step is skipped and counted (summary.json's skipped_steps, a warning), and the run completes. A streak of
/// <see cref="NonFiniteCase.MaxBadSteps"/> (or poisoned weights, which poison every later step) aborts with exit 3,
/// 'latest' still naming the last good checkpoint, which validates; no checkpoint ever holds a non-finite tensor.
/// </summary>
public static class NonFiniteCases
{
    /// <summary>Every case: per trainer, a skipped loss and a skipped gradient step, a loss and a gradient streak, poisoned weights.</summary>
    public static IReadOnlyList<NonFiniteCase> Cases(string baseModel, int threads, int seed)
    {
        var trainers = new (string Name, IReadOnlyList<string> Args)[]
        {
            ("pretrain", KillCampaigns.Pretrain(0, NonFiniteCase.Steps, threads, seed).Args),
            ("sft", KillCampaigns.Sft(baseModel, 0, NonFiniteCase.Steps, threads, seed).Args),
            ("grpo", KillCampaigns.Grpo(baseModel, 0, NonFiniteCase.Steps, threads, seed).Args),
        };
        int at = NonFiniteCase.FirstBadStep, k = NonFiniteCase.MaxBadSteps;
        return trainers.SelectMany(t => new NonFiniteCase[]
        {
            new(t.Name, t.Args, $"loss@{at}", Aborts: false),
            new(t.Name, t.Args, $"gradients@{at}:inf", Aborts: false),
            new(t.Name, t.Args, $"loss@{at}x{k}:-inf", Aborts: true),
            new(t.Name, t.Args, $"gradients@{at}x{k}", Aborts: true),
            new(t.Name, t.Args, $"weights@{at}", Aborts: true),
        }).ToList();
    }

    /// <summary>Runs each case in its own folder under <paramref name="workDir"/>; <paramref name="execute"/> runs `aha` with extra environment and returns exit code and stderr.</summary>
    public static IReadOnlyList<NonFiniteOutcome> Run(IEnumerable<NonFiniteCase> cases, string workDir,
        Func<IReadOnlyList<string>, IReadOnlyDictionary<string, string>, (int Code, string Stderr)> execute)
    {
        var outcomes = new List<NonFiniteOutcome>();
        int i = 0;
        foreach (var c in cases)
        {
            string run = Path.Combine(workDir, $"nonfinite-{i++}-{c.Trainer}");
            var (code, stderr) = execute([.. c.Args, "--out", run], new Dictionary<string, string> { [NonFiniteInjection.EnvironmentVariable] = c.Injection });
            string? problem;
            try { problem = Check(c, run, code, stderr); }
            catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException or InvalidOperationException)
            {
                problem = $"could not inspect {run}: {e.Message}";
            }
            outcomes.Add(new(c, code, problem));
        }
        return outcomes;
    }

    static string? Check(NonFiniteCase c, string run, int code, string stderr)
    {
        if (stderr.Contains("   at ", StringComparison.Ordinal)) return $"exit {code} with a stack trace: {Last(stderr)}";
        if (!stderr.Contains("update skipped", StringComparison.Ordinal)) return $"no 'update skipped' warning (exit {code}): {Last(stderr)}";
        long expectedSkipped = c.Aborts ? NonFiniteCase.MaxBadSteps : 1;
        int lastGood = c.Aborts ? NonFiniteCase.FirstBadStep : NonFiniteCase.Steps;
        if (c.Aborts && (code != 3 || !stderr.Contains("aborting", StringComparison.Ordinal)))
            return $"expected an abort (exit 3, 'aborting: …'), got exit {code}: {Last(stderr)}";
        if (!c.Aborts && code != 0) return $"expected the run to complete, got exit {code}: {Last(stderr)}";

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "summary.json")))!;
        long skipped = summary["skipped_steps"]!.GetValue<long>();
        if (skipped != expectedSkipped) return $"summary.json counts {skipped} skipped steps, expected {expectedSkipped}";

        string latest = File.ReadAllText(Path.Combine(run, Checkpoint.LatestFile)).Trim();
        if (latest != Checkpoint.StepName(lastGood)) return $"latest is {latest}, expected {Checkpoint.StepName(lastGood)}";
        if (Checkpoint.Validate(Path.Combine(run, latest)) is { } bad) return $"the last good checkpoint does not validate: {bad}";
        foreach (string folder in Directory.EnumerateDirectories(run, "step-*"))
        {
            if (c.Aborts && string.CompareOrdinal(Path.GetFileName(folder), latest) > 0) return $"{folder} was saved after the first bad step";
            foreach (string file in Directory.EnumerateFiles(folder, "*.safetensors"))
                if (NonFiniteTensor(file) is { } name) return $"{file}: tensor '{name}' holds NaN or ∞";
        }
        return null;
    }

    static string? NonFiniteTensor(string file)
    {
        using var scope = NewDisposeScope();
        foreach (var (name, tensor) in SafeTensors.Load(file))
            if (tensor.is_floating_point() && !tensor.isfinite().all().item<bool>()) return name;
        return null;
    }

    static string Last(string stderr) => stderr.Trim().Split('\n').LastOrDefault() ?? "";
}
