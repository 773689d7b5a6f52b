using System.CommandLine;
using Aha.Checkpoints;
using Aha.Model;

namespace Aha.Cli.Commands;

/// <summary>`--lora-rank`, `--lora-alpha`, `--lora-targets`, `--lora-dropout` of `aha sft`, `aha grpo` and `aha dpo`, and the resume of a LoRA run.</summary>
sealed class LoraCliOptions
{
    readonly Option<int> _rank = new("--lora-rank") { Description = "Train LoRA adapters of rank r instead of every weight (0 = full fine-tune).", DefaultValueFactory = _ => 0 };
    readonly Option<double?> _alpha = new("--lora-alpha") { Description = "LoRA α: the update is scaled by α / r (default 2·r)." };
    readonly Option<string> _targets = new("--lora-targets") { Description = $"Modules to adapt, comma-separated (or all): {string.Join(",", LoraConfig.AllTargets)}.", DefaultValueFactory = _ => string.Join(",", LoraConfig.AllTargets) };
    readonly Option<double> _dropout = new("--lora-dropout") { Description = "Dropout on the adapters' input while training.", DefaultValueFactory = _ => 0.0 };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _rank, _alpha, _targets, _dropout }) command.Options.Add(option);
    }

    /// <summary>The adapters asked for, validated; null for a full fine-tune.</summary>
    public LoraConfig? Read(ParseResult r)
    {
        int rank = r.GetValue(_rank);
        if (rank == 0) return null;
        if (rank < 0) throw new ArgumentException($"--lora-rank {rank}: must be positive, or 0 for a full fine-tune.");
        return new LoraConfig
        {
            Rank = rank, Alpha = r.GetValue(_alpha) ?? 2.0 * rank, Targets = LoraConfig.ParseTargets(r.GetValue(_targets)!), Dropout = r.GetValue(_dropout),
        }.Validate();
    }

    /// <summary>
    /// With --resume, the adapter checkpoint a LoRA run continues from (null when the run folder is not a LoRA run's:
    /// the caller resumes a full checkpoint as before). The run is a LoRA run when the folder <c>latest</c> names, or
    /// any step folder, holds adapter_config.json; it resumes from the newest adapter checkpoint that validates, as full
    /// runs do, and a damaged newer one is moved aside by the run loop.
    /// </summary>
    public static AdapterCheckpoint? TryResume(string outDir, bool resume)
    {
        if (!resume || !Directory.Exists(outDir)) return null;
        string pointer = Path.Combine(outDir, Checkpoint.LatestFile);
        string? named = File.Exists(pointer) ? File.ReadAllText(pointer).Trim() : null;
        bool lora = (named is { Length: > 0 } && named.IndexOfAny(['/', '\\']) < 0 && AdapterCheckpoint.IsAdapter(Path.Combine(outDir, named)))
                    || Directory.EnumerateDirectories(outDir, "step-*").Any(AdapterCheckpoint.IsAdapter);
        if (!lora) return null;
        RunFolder.EnsureWritable(outDir);
        var latest = AdapterCheckpoint.TryLoadNewestValid(outDir, warning => Console.Error.WriteLine($"warning: {warning}"))
            ?? throw new InvalidDataException($"cannot resume {outDir}: it holds no adapter checkpoint. Start again with --overwrite.");
        Console.Error.WriteLine($"resuming LoRA adapters from {latest.Directory} (step {latest.State?.Step})");
        return latest;
    }
}
