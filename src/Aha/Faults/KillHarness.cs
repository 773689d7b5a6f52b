using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Checkpoints;

namespace Aha.Faults;

/// <summary>One trainer's kill -9 campaign: the command (without --out/--resume) and how many kills.</summary>
/// <param name="Args">The `aha` arguments of a complete run, e.g. pretrain --steps 12 --save-every 1 … (no --out, no --resume).</param>
/// <param name="MeanStepSeconds">Rough seconds per step (with its save); kills land up to 2.5 steps after the first new metrics row.</param>
public sealed record KillCampaign(string Name, IReadOnlyList<string> Args, int Kills, int Seed, double MeanStepSeconds = 0.5);

/// <summary>What a campaign found.</summary>
public sealed record KillReport(string Name, int Kills, int KillsInsideSave, int Resumes, int Crashes, IReadOnlyList<string> Differences, double Seconds)
{
    /// <summary>Complete killed runs compared with the uninterrupted one.</summary>
    public int Compared { get; init; }
}

/// <summary>
/// Runs the real CLI for a whole training run once uninterrupted, then again killed with SIGKILL at seeded random
/// moments (saves are slowed by <c>AHA_FAULT_SAVE_DELAY_MS</c> so many kills land inside one), resumed with --resume after
/// each kill until it completes, and compares the final weights, optimizer state, trainer state and metrics rows.
/// </summary>
/// <param name="start">Turns `aha` arguments into a process to start (the test project and `aha bench faults` locate the CLI differently).</param>
public sealed class KillHarness(Func<IReadOnlyList<string>, ProcessStartInfo> start, TimeSpan timeout)
{
    /// <summary>Milliseconds each file of a save waits in the killed runs, so a kill often lands inside a save.</summary>
    public int SaveDelayMs { get; init; } = 40;
    /// <summary>Receives one line per event (kill, resume).</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Runs <paramref name="campaign"/> in <paramref name="workDir"/> (which it fills with a reference and a killed run).</summary>
    public KillReport Run(KillCampaign campaign, string workDir)
    {
        var clock = Stopwatch.StartNew();
        string reference = Path.Combine(workDir, "uninterrupted"), killed = Path.Combine(workDir, "killed");
        var (code, _, stderr) = Execute([.. campaign.Args, "--out", reference], null, null);
        if (code != 0) throw new InvalidOperationException($"{campaign.Name}: the uninterrupted run failed (exit {code}):\n{stderr}");

        var random = new Random(campaign.Seed);
        int kills = 0, insideSave = 0, resumes = 0, crashes = 0, compared = 0;
        var differences = new List<string>();
        var env = new Dictionary<string, string> { ["AHA_FAULT_SAVE_DELAY_MS"] = SaveDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        while (true)
        {
            bool last = kills >= campaign.Kills;
            double delay = last ? double.PositiveInfinity : random.NextDouble() * 2.5 * campaign.MeanStepSeconds;
            var (exit, killedHere, err) = Execute([.. campaign.Args, "--out", killed, "--resume"], env, killedHere: delay);
            if (err.Contains("resuming from", StringComparison.Ordinal)) resumes++;
            if (killedHere)
            {
                kills++;
                // A save leaves .tmp-step-* (files being written) or latest.tmp-* (the pointer being replaced) while it runs.
                bool inSave = Directory.Exists(killed) && (Directory.EnumerateDirectories(killed, ".tmp-step-*").Any() || Directory.EnumerateFiles(killed, "latest.tmp-*").Any());
                if (inSave) insideSave++;
                Log($"{campaign.Name}: kill {kills} after {delay:F2}s past the first new step{(inSave ? " (inside a save)" : "")}; latest {Latest(killed)}");
                continue;
            }
            if (exit != 0 || err.Contains("   at ", StringComparison.Ordinal))
            {
                // A resume that fails is the finding; resuming again would only repeat it.
                crashes++;
                differences.Add($"exit {exit} after {kills} kills: {err.Trim().Split('\n').LastOrDefault()}");
                break;
            }
            differences.AddRange(Compare(reference, killed));
            compared++;
            if (kills >= campaign.Kills) break;
            // The run finished before its next kill: compared above; start it again so every kill point is used.
            Log($"{campaign.Name}: finished before kill {kills + 1}; starting the killed run again from scratch");
            Directory.Delete(killed, recursive: true);
        }
        return new(campaign.Name, kills, insideSave, resumes, crashes, differences, clock.Elapsed.TotalSeconds) { Compared = compared };
    }

    static string Latest(string run)
    {
        try { return File.ReadAllText(Path.Combine(run, Checkpoint.LatestFile)).Trim(); }
        catch (IOException) { return "none"; }
    }

    /// <summary>Runs to the end, or kills <paramref name="killedHere"/> seconds after the first metrics row this process adds.</summary>
    (int Code, bool Killed, string Stderr) Execute(IReadOnlyList<string> args, Dictionary<string, string>? env, double? killedHere)
    {
        var info = start(args);
        info.RedirectStandardOutput = info.RedirectStandardError = true;
        info.UseShellExecute = false;
        foreach (var (k, v) in env ?? []) info.Environment[k] = v;
        string outDir = args[args.ToList().IndexOf("--out") + 1];
        string metrics = Path.Combine(outDir, "metrics.jsonl");
        long rowsBefore = Rows(metrics);
        using var process = new Process { StartInfo = info };
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var clock = Stopwatch.StartNew();
        bool killed = false;
        if (killedHere is { } delay && double.IsFinite(delay))
        {
            while (!process.HasExited && Rows(metrics) <= rowsBefore && clock.Elapsed < timeout) Thread.Sleep(10);
            var wait = Stopwatch.StartNew();
            while (!process.HasExited && wait.Elapsed.TotalSeconds < delay) Thread.Sleep(5);
            if (!process.HasExited)
            {
                process.Kill(); // SIGKILL: no handler runs, nothing is flushed
                killed = true;
            }
        }
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"aha {string.Join(' ', args)} did not finish within {timeout}.");
        }
        process.WaitForExit();
        lock (stderr) return (killed ? -9 : process.ExitCode, killed, stderr.ToString());
    }

    static long Rows(string metrics)
    {
        try { return File.Exists(metrics) ? new FileInfo(metrics).Length : 0; }
        catch (IOException) { return 0; }
    }

    /// <summary>Final checkpoint files byte for byte, and metrics rows (the last row of each phase and step, timings left out).</summary>
    public static IReadOnlyList<string> Compare(string reference, string candidate)
    {
        var differences = new List<string>();
        string a = Latest(reference), b = Latest(candidate);
        if (a != b) return [$"latest is {b}, the uninterrupted run's is {a}"];
        foreach (string file in new[] { Checkpoint.ModelFile, Checkpoint.OptimizerFile, Checkpoint.StateFile, Checkpoint.ConfigFile, Training.GrpoTrainer.ReferenceFile,
                     AdapterCheckpoint.WeightsFile, AdapterCheckpoint.ConfigFile })
        {
            string x = Path.Combine(reference, a, file), y = Path.Combine(candidate, b, file);
            if (!File.Exists(x) && !File.Exists(y)) continue;
            if (!File.Exists(y)) differences.Add($"{file} missing");
            else if (!File.ReadAllBytes(x).AsSpan().SequenceEqual(File.ReadAllBytes(y))) differences.Add($"{file} differs{MaxDifference(x, y)}");
        }
        var rowsA = MetricsRows(Path.Combine(reference, "metrics.jsonl"));
        var rowsB = MetricsRows(Path.Combine(candidate, "metrics.jsonl"));
        if (!rowsA.Keys.SequenceEqual(rowsB.Keys)) differences.Add($"metrics rows: {rowsB.Count} (phase, step) rows, the uninterrupted run has {rowsA.Count}");
        foreach (var (key, row) in rowsA)
            if (rowsB.TryGetValue(key, out var other) && row != other) differences.Add($"metrics {key.Phase} step {key.Step}: {other} vs {row}");
        return differences;
    }

    static string MaxDifference(string x, string y)
    {
        if (!x.EndsWith(".safetensors", StringComparison.Ordinal)) return "";
        using var scope = TorchSharp.torch.NewDisposeScope();
        var ta = SafeTensors.Load(x);
        var tb = SafeTensors.Load(y);
        double max = 0;
        foreach (var (name, t) in ta)
            if (tb.TryGetValue(name, out var u) && t.shape.SequenceEqual(u.shape) && t.is_floating_point())
                max = Math.Max(max, (t - u).abs().max().item<float>());
        return $" (max |difference| {max:G3})";
    }

    static readonly string[] Timing = ["time", "tokens_per_second", "mfu", "seconds_generation", "seconds_reference", "seconds_reward", "seconds_update"];

    static SortedDictionary<(string Phase, long Step), string> MetricsRows(string path)
    {
        var rows = new SortedDictionary<(string, long), string>();
        if (!File.Exists(path)) return rows;
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonObject row;
            try { row = JsonNode.Parse(text)!.AsObject(); }
            catch (System.Text.Json.JsonException) { rows[("unreadable", line)] = text; continue; }
            foreach (string key in Timing) row.Remove(key);
            rows[(row["phase"]?.GetValue<string>() ?? "", row["step"]!.GetValue<long>())] = row.ToJsonString(); // a redone step: its last row wins, as MetricsReader reads it
        }
        return rows;
    }
}
