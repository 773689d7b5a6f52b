using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Faults;

namespace Aha.Cli.Commands;

/// <summary>
/// `aha bench faults`: the fault-injection campaign (minutes; not in CI). kill -9 of the real CLI at seeded random points
/// for pretrain, SFT and GRPO, resumed and compared with an uninterrupted run; a full disk at every file of a save (injected,
/// and a real size-limited tmpfs where mounting is allowed); read-only run folders; the corrupt-checkpoint table; input fuzzing;
/// NaN/∞ injected into the loss, gradients and weights of each trainer.
/// </summary>
static class BenchFaultsCommand
{
    public static Command Create()
    {
        var kills = new Option<int>("--kills") { Description = "kill -9 points per trainer.", DefaultValueFactory = _ => 20 };
        var fuzz = new Option<int>("--fuzz-cases") { Description = "Mutations per fuzz target.", DefaultValueFactory = _ => 2000 };
        var seed = new Option<int>("--seed") { Description = "Seed of kill times, corruptions and mutations.", DefaultValueFactory = _ => 1 };
        var work = new Option<string?>("--work") { Description = "Scratch folder (default: a new temporary folder, deleted afterwards)." };
        var threads = RunOptions.NewThreads();
        var command = new Command("faults", "kill -9, disk full, read-only folders, corrupt checkpoints, NaN/∞ and fuzzed input against the real CLI; a table, then one JSON line.")
        {
            kills, fuzz, seed, work, threads,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            RunOptions.InitializeTorch(r, threads);
            int k = r.GetValue(kills), cases = r.GetValue(fuzz), s = r.GetValue(seed), t = Math.Max(1, r.GetValue(threads));
            if (k < 0 || cases < 1) throw new ArgumentException("--kills must be ≥ 0 and --fuzz-cases ≥ 1.");
            string dir = r.GetValue(work) ?? Directory.CreateTempSubdirectory("aha-faults-").FullName;
            Directory.CreateDirectory(dir);
            var clock = Stopwatch.StartNew();
            var rows = new List<(string, string)>();
            var findings = new List<string>();
            void Log(string line) => Console.Error.WriteLine(line);

            // Corrupt checkpoints: a real two-step run to damage.
            string pristine = Path.Combine(dir, "pristine");
            Must(Execute([.. KillCampaigns.Pretrain(0, 2, t, s).Args, "--out", pristine]), "the run to corrupt");
            var corrupt = CheckpointCorruptions.Run(pristine, dir, CheckpointCorruptions.Cases(randomFlips: 10, seed: s));
            int corruptFailed = corrupt.Count(o => !o.Passed);
            findings.AddRange(corrupt.Where(o => !o.Passed).Select(o => $"corrupt {o.Case} [{o.Setting}]: {o.Detail}"));
            rows.Add(("corrupt-checkpoint cases (failed)", $"{corrupt.Count} ({corruptFailed})"));
            Log($"corrupt checkpoints: {corrupt.Count} cases, {corruptFailed} failed");

            // Fuzzed input.
            int fuzzCases = 0, fuzzFailed = 0;
            foreach (var target in InputFuzzer.Targets(InputFuzzer.ParquetSeed()))
            {
                var report = InputFuzzer.Run(target, cases, s, dir);
                fuzzCases += report.Cases;
                fuzzFailed += report.Failures.Count;
                findings.AddRange(report.Failures.Take(3).Select(f => $"fuzz {target.Name}: {f}"));
                rows.Add(($"fuzz {target.Name} (accepted/rejected/failed)", $"{report.Accepted}/{report.Rejected}/{report.Failures.Count}"));
            }
            Log($"fuzz: {fuzzCases} cases, {fuzzFailed} failures");

            // Disk full at each file of the second save, through the CLI; then resumed with space back.
            var (fullCases, fullFailed) = DiskFull(dir, t, s, findings);
            rows.Add(("disk-full cases, injected (failed)", $"{fullCases} ({fullFailed})"));
            string tmpfs = RealDiskFull(dir, t, s, findings);
            rows.Add(("disk full on a real tmpfs", tmpfs));
            int readOnlyFailed = ReadOnly(dir, t, findings);
            rows.Add(("read-only run folder refused before step 1 (pretrain, sft, grpo)", readOnlyFailed == 0 ? "yes" : $"{readOnlyFailed} failed"));

            // kill -9 campaigns.
            string baseModel = Path.Combine(dir, "base");
            Must(Execute([.. KillCampaigns.BaseModel(baseModel, t)]), "the SFT/GRPO base model");

            // Corrupt adapter checkpoints: a two-step LoRA SFT run on that base to damage.
            string pristineLora = Path.Combine(dir, "pristine-lora");
            Must(Execute([.. KillCampaigns.Sft(baseModel, 0, 2, t, s, lora: true).Args, "--out", pristineLora]), "the LoRA run to corrupt");
            var corruptLora = CheckpointCorruptions.Run(pristineLora, dir, CheckpointCorruptions.AdapterCases(randomFlips: 10, seed: s));
            int corruptLoraFailed = corruptLora.Count(o => !o.Passed);
            findings.AddRange(corruptLora.Where(o => !o.Passed).Select(o => $"corrupt adapter {o.Case} [{o.Setting}]: {o.Detail}"));
            rows.Add(("corrupt-adapter-checkpoint cases (failed)", $"{corruptLora.Count} ({corruptLoraFailed})"));
            Log($"corrupt adapter checkpoints: {corruptLora.Count} cases, {corruptLoraFailed} failed");

            // NaN/∞ in the loss, the gradients and the weights of each trainer.
            var nonFinite = NonFiniteCases.Run(NonFiniteCases.Cases(baseModel, t, s), dir, (a, e) => Execute(a, new(e)));
            int nonFiniteFailed = nonFinite.Count(o => !o.Passed);
            findings.AddRange(nonFinite.Where(o => !o.Passed).Select(o => $"non-finite {o.Case.Trainer} {o.Case.Injection}: {o.Problem}"));
            rows.Add(("NaN/∞ in loss, gradients, weights (pretrain, sft, grpo): cases (failed)", $"{nonFinite.Count} ({nonFiniteFailed})"));
            Log($"non-finite: {nonFinite.Count} cases, {nonFiniteFailed} failed");

            var harness = new KillHarness(Start, TimeSpan.FromMinutes(5)) { Log = Log };
            var reports = new[]
            {
                harness.Run(KillCampaigns.Pretrain(k, 30, t, s), Path.Combine(dir, "kill-pretrain")),
                harness.Run(KillCampaigns.Sft(baseModel, k, 30, t, s + 1), Path.Combine(dir, "kill-sft")),
                harness.Run(KillCampaigns.Sft(baseModel, k, 30, t, s + 3, lora: true), Path.Combine(dir, "kill-sft-lora")),
                harness.Run(KillCampaigns.Grpo(baseModel, k, 30, t, s + 2), Path.Combine(dir, "kill-grpo")),
            };
            foreach (var report in reports)
            {
                rows.Add(($"kill -9 {report.Name}: kills (inside a save) / resumes / differences / crashes",
                    $"{report.Kills} ({report.KillsInsideSave}) / {report.Resumes} / {report.Differences.Count} / {report.Crashes}"));
                findings.AddRange(report.Differences.Select(d => $"kill {report.Name}: {d}"));
            }
            foreach (string finding in findings.Take(30)) Log($"finding: {finding}");

            var json = new JsonObject
            {
                ["bench"] = "faults",
                ["threads"] = t,
                ["kills"] = reports.Sum(x => x.Kills),
                ["kills_inside_save"] = reports.Sum(x => x.KillsInsideSave),
                ["resumes"] = reports.Sum(x => x.Resumes),
                ["differences"] = reports.Sum(x => x.Differences.Count),
                ["crashes"] = reports.Sum(x => x.Crashes) + fuzzFailed,
                ["corrupt_file_cases"] = corrupt.Count,
                ["corrupt_file_failures"] = corruptFailed,
                ["corrupt_adapter_cases"] = corruptLora.Count,
                ["corrupt_adapter_failures"] = corruptLoraFailed,
                ["fuzz_cases"] = fuzzCases,
                ["fuzz_failures"] = fuzzFailed,
                ["disk_full_cases"] = fullCases,
                ["disk_full_failures"] = fullFailed,
                ["tmpfs"] = tmpfs,
                ["read_only_failures"] = readOnlyFailed,
                ["nonfinite_cases"] = nonFinite.Count,
                ["nonfinite_failures"] = nonFiniteFailed,
                ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
            };
            if (r.GetValue(work) is null) Directory.Delete(dir, recursive: true);
            BenchCommand.Report($"Fault injection (--threads {t}, seed {s})", rows, json);
            return findings.Count == 0 ? 0 : 3;
        }));
        return command;
    }

    /// <summary>This CLI again as a child process: the apphost, or `dotnet Aha.Cli.dll`.</summary>
    static ProcessStartInfo Start(IReadOnlyList<string> args)
    {
        string host = Environment.ProcessPath!;
        var info = new ProcessStartInfo(host);
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") info.ArgumentList.Add(System.Reflection.Assembly.GetEntryAssembly()!.Location);
        foreach (string a in args) info.ArgumentList.Add(a);
        info.RedirectStandardOutput = info.RedirectStandardError = true;
        info.UseShellExecute = false;
        return info;
    }

    static (int Code, string Stderr) Execute(IReadOnlyList<string> args, Dictionary<string, string>? env = null)
    {
        var info = Start(args);
        foreach (var (key, value) in env ?? []) info.Environment[key] = value;
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stderr.Result);
    }

    static void Must((int Code, string Stderr) result, string what)
    {
        if (result.Code != 0) throw new InvalidOperationException($"{what} failed (exit {result.Code}): {result.Stderr}");
    }

    const int FilesPerSave = 8;

    static (int Cases, int Failed) DiskFull(string dir, int threads, int seed, List<string> findings)
    {
        var args = KillCampaigns.Pretrain(0, 3, threads, seed).Args;
        string reference = Path.Combine(dir, "full-reference");
        Must(Execute([.. args, "--out", reference]), "the disk-full reference run");
        int failed = 0;
        for (int file = 1; file <= FilesPerSave; file++)
        {
            string run = Path.Combine(dir, $"full-{file}");
            // Writes of the first save are 1..8; this fails file N of the second.
            var (code, stderr) = Execute([.. args, "--out", run], new() { ["AHA_FAULT_DISK_FULL_AT"] = (FilesPerSave + file).ToString(CultureInfo.InvariantCulture) });
            var errors = stderr.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
            string? problem = code != 1 ? $"exit {code}" : errors.Count != 1 ? "not one error line"
                : !errors[0].Contains("No space left on device", StringComparison.Ordinal) || !errors[0].Contains("(step-000001) is intact", StringComparison.Ordinal) ? $"unclear error: {errors[0]}"
                : stderr.Contains("   at ", StringComparison.Ordinal) ? "stack trace" : null;
            problem ??= Checkpoint.Validate(Path.Combine(run, "step-000001")) is { } bad ? $"previous checkpoint damaged: {bad}" : null;
            if (problem is null)
            {
                var (resumed, err) = Execute([.. args, "--out", run, "--resume"]);
                problem = resumed != 0 ? $"resume failed: {err.Trim().Split('\n')[^1]}" : KillHarness.Compare(reference, run).FirstOrDefault();
            }
            if (problem is not null) { failed++; findings.Add($"disk full at file {file} of a save: {problem}"); }
        }
        return (FilesPerSave, failed);
    }

    /// <summary>A tmpfs with room for one checkpoint and not two: the second save fails for real; then it grows and the run resumes.</summary>
    static string RealDiskFull(string dir, int threads, int seed, List<string> findings)
    {
        if (!OperatingSystem.IsLinux()) return "not tried (Linux only)";
        string mount = Path.Combine(dir, "tmpfs");
        Directory.CreateDirectory(mount);
        var args = KillCampaigns.Pretrain(0, 3, threads, seed).Args;
        long checkpoint = Directory.GetFiles(Path.Combine(dir, "full-reference", "step-000003")).Sum(f => new FileInfo(f).Length);
        long size = checkpoint * 3 / 2 + 64 * 1024; // one checkpoint, metrics and summary; not a second checkpoint
        if (Shell("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", mount) is { } why) return $"not tried: mount refused ({why})";
        try
        {
            string run = Path.Combine(mount, "run");
            var (code, stderr) = Execute([.. args, "--out", run]);
            string? error = stderr.Split('\n').FirstOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal));
            if (code != 1 || error is null || !error.Contains("No space left on device", StringComparison.Ordinal))
            {
                findings.Add($"tmpfs of {size} bytes: expected a one-line disk-full error, got exit {code}: {stderr.Trim().Split('\n')[^1]}");
                return "failed";
            }
            if (Shell("mount", "-o", $"remount,size={size * 8}", mount) is { } grow) return $"disk full reported; could not grow the tmpfs ({grow})";
            var (resumed, err) = Execute([.. args, "--out", run, "--resume"]);
            if (resumed != 0) { findings.Add($"tmpfs resume failed: {err.Trim().Split('\n')[^1]}"); return "failed"; }
            return $"passed: '{error[..Math.Min(error.Length, 60)]}…', resumed to the end";
        }
        finally { Shell("umount", mount); }
    }

    static string? Shell(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true };
            using var process = Process.Start(info)!;
            string err = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : err.Trim();
        }
        catch (System.ComponentModel.Win32Exception e) { return e.Message; }
    }

    static int ReadOnly(string dir, int threads, List<string> findings)
    {
        string folder = Path.Combine(dir, "read-only");
        Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        bool writable = Shell("touch", Path.Combine(folder, "probe")) is null; // root ignores permissions
        string target = writable ? "/sys/aha-faults-run" : folder;
        int failed = 0;
        string s = threads.ToString(CultureInfo.InvariantCulture);
        foreach (string[] args in new[]
                 {
                     new[] { "pretrain", "--out", target, "--model-size", "tiny", "--steps", "2", "--threads", s },
                     ["sft", "--out", target, "--model", Path.Combine(dir, "base"), "--steps", "2", "--threads", s],
                     ["grpo", "--out", target, "--model", Path.Combine(dir, "base"), "--steps", "2", "--threads", s],
                 })
        {
            var (code, stderr) = Execute(args);
            if (code != 1 || !stderr.Contains("is not writable", StringComparison.Ordinal)) { failed++; findings.Add($"read-only {args[0]}: exit {code}: {stderr.Trim()}"); }
        }
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return failed;
    }
}
